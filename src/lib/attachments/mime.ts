import path from 'node:path'

const BY_EXT: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
  '.webp': 'image/webp',
  '.tiff': 'image/tiff',
  '.mov': 'video/quicktime',
  '.mp4': 'video/mp4',
  '.m4v': 'video/x-m4v',
  '.caf': 'audio/x-caf',
  '.m4a': 'audio/mp4',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.vcf': 'text/vcard',
  '.json': 'application/json',
  '.zip': 'application/zip',
}

/** imsg's mime_type when set, else a guess from the extension, else application/octet-stream. */
export function mimeTypeFor(name: string, fromImsg?: string): string {
  if (fromImsg) return fromImsg
  return BY_EXT[path.extname(name).toLowerCase()] ?? 'application/octet-stream'
}

export function formatMb(bytes: number): string {
  // Rounded UP to 0.1 so a file just over the cap never prints as equal to it.
  const mb = Math.ceil((bytes / (1024 * 1024)) * 10) / 10
  return String(mb)
}
