build/release/lib/embedder.o: src/lib/embedder.c src/lib/embedder.h \
 src/lib/err.h
src/lib/embedder.h:
src/lib/err.h:
