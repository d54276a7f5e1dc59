build/release/lib/stage.o: src/lib/stage.c src/lib/stage.h src/lib/err.h \
 src/lib/transport.h src/lib/record.h
src/lib/stage.h:
src/lib/err.h:
src/lib/transport.h:
src/lib/record.h:
