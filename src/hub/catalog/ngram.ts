/**
 * Character n-grams for search over Korean and English text. Korean has no spaces
 * between a stem and its particles and compounds freely ("당뇨병", "당뇨병성"), so
 * word matching misses; overlapping character bigrams find "당뇨병" from "당뇨" and
 * behave the same on PGlite and PostgreSQL. pg_trgm is no fit: PGlite ships it only as an
 * opt-in contrib module loaded when the database is created, a managed PostgreSQL may not
 * offer it, and a trigram is longer than most two-syllable Korean words.
 */

/** NFKC (full-width and compatibility forms fold), lower case. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Runs of letters and digits in any script. */
export function tokenize(text: string): string[] {
  return normalizeText(text).match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * What a document is indexed under: every character (so one-character queries such as
 * "암" match) and every pair of adjacent characters within a token.
 */
export function indexGrams(text: string): Set<string> {
  const grams = new Set<string>();
  for (const token of tokenize(text)) {
    const chars = [...token];
    for (let i = 0; i < chars.length; i++) {
      grams.add(chars[i]!);
      if (i + 1 < chars.length) grams.add(chars[i]! + chars[i + 1]!);
    }
  }
  return grams;
}

/** What a query looks for: the bigrams of each token; a one-character token is its unigram. */
export function queryGrams(text: string): string[] {
  const grams = new Set<string>();
  for (const token of tokenize(text)) {
    const chars = [...token];
    if (chars.length === 1) grams.add(chars[0]!);
    for (let i = 0; i + 1 < chars.length; i++) grams.add(chars[i]! + chars[i + 1]!);
  }
  return [...grams];
}

/**
 * How many of a query's grams a document must contain: all of them for short queries
 * (one or two words of Korean), 80 % from four grams on, which tolerates one typo in a
 * longer English word without matching everything that shares a letter pair.
 */
export function requiredGramHits(queryGramCount: number): number {
  return queryGramCount <= 3 ? queryGramCount : Math.ceil(queryGramCount * 0.8);
}
