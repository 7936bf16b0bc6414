# Shortcuts for people who like make; each runs the README's command of the same name.
.PHONY: run test lab
run:
	./course run
test:
	./course test
lab:
	./course lab
