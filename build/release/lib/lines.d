build/release/lib/lines.o: src/lib/lines.c src/lib/lines.h src/lib/err.h
src/lib/lines.h:
src/lib/err.h:
