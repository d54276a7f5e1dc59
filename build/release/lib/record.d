build/release/lib/record.o: src/lib/record.c src/lib/record.h \
 src/lib/err.h
src/lib/record.h:
src/lib/err.h:
