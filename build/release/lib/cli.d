build/release/lib/cli.o: src/lib/cli.c src/lib/cli.h src/lib/err.h \
 src/lib/transport.h src/lib/record.h
src/lib/cli.h:
src/lib/err.h:
src/lib/transport.h:
src/lib/record.h:
