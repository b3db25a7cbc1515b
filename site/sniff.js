// sniff.js — what a file is, from its first bytes rather than its name or the type the OS guessed:
// a JPEG saved without an extension, or a download named ".bin", still opens; a text file named
// ".png" is refused. Returns a MIME type or '' when the bytes are none this page can show.
export function sniffBytes(b) {
  const at = (i, ...xs) => xs.every((x, j) => b[i + j] === x);
  const ascii = (i, s) => [...s].every((c, j) => b[i + j] === c.charCodeAt(0));
  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'image/gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp';
  if (ascii(0, 'BM') && b.length > 14) return 'image/bmp';
  if (at(0, 0, 0, 1, 0)) return 'image/x-icon';
  if (ascii(4, 'ftyp')) {
    const brand = String.fromCharCode(...b.slice(8, 12));
    if (/^avi[fs]$/.test(brand)) return 'image/avif';
    return 'video/mp4'; // isom, mp41, mp42, M4V, qt…: the <video> element decides what it can play
  }
  if (at(0, 0x1a, 0x45, 0xdf, 0xa3)) return 'video/webm'; // EBML: WebM / Matroska
  if (ascii(0, 'OggS')) return 'video/ogg';
  // SVG: text whose first tag (after an XML declaration, comments, a doctype) is <svg.
  const head = new TextDecoder().decode(b.slice(0, 512)).replace(/^\uFEFF/, '');
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg[\s>]/i.test(head)) return 'image/svg+xml';
  return '';
}

export async function sniff(blob) {
  return sniffBytes(new Uint8Array(await blob.slice(0, 512).arrayBuffer()));
}
