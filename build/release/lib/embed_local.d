build/release/lib/embed_local.o: src/lib/embed_local.c src/lib/embedder.h \
 src/lib/err.h src/lib/vec.h
src/lib/embedder.h:
src/lib/err.h:
src/lib/vec.h:
