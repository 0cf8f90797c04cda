/**
 * Character trie over a WordPiece vocabulary, for longest-match look-ups.
 *
 * The reference tries substrings from the longest down and takes the first one in the vocabulary;
 * walking a trie from the same start and remembering the last complete token gives the same piece
 * while touching each character once, and the walk stops as soon as no token continues. Keys are
 * UTF-16 units; tokens are valid strings, so a token never ends inside a surrogate pair.
 */
export class VocabTrie {
  /** children[node] maps a UTF-16 unit to the child node. */
  private readonly children: Map<number, number>[] = [new Map()];
  /** Token id ending at each node, or -1. */
  private ids: Int32Array = new Int32Array(1024).fill(-1);

  constructor(tokens: readonly string[]) {
    for (let id = 0; id < tokens.length; id++) this.insert(tokens[id]!, id);
  }

  /** The node reached by walking `prefix` from the root, or -1 if no token starts with it. */
  walk(prefix: string, from = 0): number {
    let node = from;
    for (let i = 0; i < prefix.length && node !== -1; i++) {
      node = this.children[node]!.get(prefix.charCodeAt(i)) ?? -1;
    }
    return node;
  }

  /**
   * Longest token t such that `from`'s path + t-suffix = word[start, end): returns end and writes the
   * id to out[0], or returns -1 when no token does.
   */
  longest(word: string, start: number, from: number, out: Int32Array): number {
    let node = from;
    let bestEnd = -1;
    for (let i = start; i < word.length; i++) {
      const next = this.children[node]!.get(word.charCodeAt(i));
      if (next === undefined) break;
      node = next;
      const id = this.ids[node]!;
      if (id >= 0) {
        bestEnd = i + 1;
        out[0] = id;
      }
    }
    return bestEnd;
  }

  private insert(token: string, id: number): void {
    let node = 0;
    for (let i = 0; i < token.length; i++) {
      const c = token.charCodeAt(i);
      const kids = this.children[node]!;
      let next = kids.get(c);
      if (next === undefined) {
        next = this.children.length;
        this.children.push(new Map());
        kids.set(c, next);
        if (next >= this.ids.length) {
          const grown = new Int32Array(this.ids.length * 2).fill(-1);
          grown.set(this.ids);
          this.ids = grown;
        }
      }
      node = next;
    }
    this.ids[node] = id;
  }
}
