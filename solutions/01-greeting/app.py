"""A birthday greeting served over HTTP: the app this workshop ships."""

import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def wish():
    # Returning text/plain means a NAME with HTML in it is shown, never run as markup.
    ### BEGIN SOLUTION
    greeting = os.getenv("GREETING", "Happy birthday")
    message = "{greeting} {name}".format(greeting=greeting, name=os.getenv("NAME", "John"))
    ### EXERCISE # TODO: take the words before the name from the variable GREETING,
    ### EXERCISE # and keep "Happy birthday" when GREETING is unset.
    ### EXERCISE message = "Happy birthday {name}".format(name=os.getenv("NAME", "John"))
    ### END SOLUTION
    return message, {"Content-Type": "text/plain; charset=utf-8"}


if __name__ == "__main__":
    # 0.0.0.0: every network interface, so requests from outside a container reach the app.
    app.run(host="0.0.0.0", port=8080)
