build/release/lib/err.o: src/lib/err.c src/lib/err.h
src/lib/err.h:
