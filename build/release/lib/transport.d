build/release/lib/transport.o: src/lib/transport.c src/lib/transport.h \
 src/lib/err.h src/lib/lines.h src/lib/record.h
src/lib/transport.h:
src/lib/err.h:
src/lib/lines.h:
src/lib/record.h:
