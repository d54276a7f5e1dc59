build/release/lib/hash.o: src/lib/hash.c src/lib/hash.h src/lib/err.h
src/lib/hash.h:
src/lib/err.h:
