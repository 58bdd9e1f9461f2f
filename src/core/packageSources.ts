/**
 * Where this machine gets packages from: apt sources, pip indexes, the npm registry. Pure parsing;
 * src/engine/packageSources.ts reads the files and asks npm. Paddock names no registry itself: a
 * sandbox is allowed the registries its host is configured with, so a company mirror works with no
 * policy edit, and template builds fetch from the same places as the host.
 */

/** Archive URIs of apt's sources, in one-line (`deb URI SUITE…`) or deb822 (`URIs:`) form. */
export function aptSourceUris(text: string): string[] {
  const uris: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const oneLine = /^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    if (oneLine) uris.push(oneLine[1]);
    const deb822 = /^URIs:\s*(.+)$/i.exec(line);
    if (deb822) uris.push(...deb822[1].split(/\s+/));
  }
  return uris.filter((u) => /^https?:\/\//i.test(u));
}

/** The main archive among apt's sources: the first URI that is not a security or updates archive. */
export function aptMainMirror(uris: readonly string[]): string | undefined {
  return uris.find((u) => !/security/i.test(u));
}

/** The security archive among apt's sources. */
export function aptSecurityMirror(uris: readonly string[]): string | undefined {
  return uris.find((u) => /security/i.test(u));
}

/** Index URLs of a pip configuration file (`index-url`, `extra-index-url` in any section). */
export function pipConfigIndexes(text: string): string[] {
  const urls: string[] = [];
  let inList = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s*[#;].*$/, '');
    const m = /^\s*(extra-index-url|index-url)\s*[=:]\s*(.*)$/i.exec(line);
    if (m) {
      urls.push(...m[2].split(/\s+/).filter(Boolean));
      inList = true;
    } else if (inList && /^\s+\S/.test(line)) {
      urls.push(...line.trim().split(/\s+/)); // continuation lines of a multi-line value
    } else {
      inList = false;
    }
  }
  return urls.filter((u) => /^https?:\/\//i.test(u));
}

/** Egress rules (host or host:port) for package source URLs; local and loopback sources need none. */
export function registryRules(urls: readonly string[]): string[] {
  const rules = new Set<string>();
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      continue;
    }
    if (!/^https?:$/.test(parsed.protocol) || !parsed.hostname) continue;
    if (/^(localhost|127\.|\[::1\])/i.test(parsed.hostname)) continue;
    rules.add(parsed.port ? `${parsed.hostname}:${parsed.port}` : parsed.hostname);
  }
  return [...rules];
}
