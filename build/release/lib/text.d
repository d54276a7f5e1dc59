build/release/lib/text.o: src/lib/text.c src/lib/text.h
src/lib/text.h:
