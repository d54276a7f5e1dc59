# A PDF that keeps poppler's text extraction busy for long: one page whose
# content stream inflates to MB MiB of a repeated operator (sweep 4: a
# 31 KB file of 10 MiB of text operators ran for hours).
#   slowpdf.py OUT MB [OPERATOR]   (default 'q Q\n'; 'BT (abc def) Tj ET\n' is slower)
import zlib, sys
out, mb = sys.argv[1], float(sys.argv[2]); op = (sys.argv[3] if len(sys.argv) > 3 else 'q Q\n').encode().decode('unicode_escape').encode()
text = b'BT /F1 12 Tf 72 720 Td (Hello bomb document text here) Tj ET\n'
co = zlib.compressobj(9)
parts = [co.compress(text)]
blk = op * (1048576 // len(op))
for i in range(int(mb)): parts.append(co.compress(blk))
parts.append(co.flush()); stream = b''.join(parts)
objs = [b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length %d /Filter /FlateDecode >>\nstream\n' % len(stream) + stream + b'\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']
pdf = bytearray(b'%PDF-1.4\n'); offs = []
for i, o in enumerate(objs):
    offs.append(len(pdf)); pdf += b'%d 0 obj\n' % (i + 1) + o + b'\nendobj\n'
x = len(pdf); pdf += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objs) + 1)
for o in offs: pdf += b'%010d 00000 n \n' % o
pdf += b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objs) + 1, x)
open(out, 'wb').write(pdf)
