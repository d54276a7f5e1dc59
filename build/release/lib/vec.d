build/release/lib/vec.o: src/lib/vec.c src/lib/vec.h src/lib/err.h
src/lib/vec.h:
src/lib/err.h:
