/* Chinese words in a search query. Sphinx indexes Chinese text as the words jieba splits it into
 * (反向, 传播, 有限, 差分, ...), but its search page splits a query only at spaces and punctuation,
 * so a query such as 有限差分 is one term that no page holds. This splitter, which searchtools.js
 * uses instead of its own (it defines splitQuery only when none exists), splits each Chinese run
 * of a query into the longest words the book's index knows; the search then finds the pages that
 * hold all of them. Other text is split as Sphinx splits it. */
var splitQuery = (query) => {
  const words = query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu).filter((w) => w);
  const index = typeof Search === "undefined" ? null : Search._index;
  if (!index) return words;
  const holds = (table, word) => [table[word]].flat().some((doc) => doc !== undefined);
  const known = (word) => holds(index.terms, word) || holds(index.titleterms, word);
  return words.flatMap((word) => {
    if (!/\p{Script=Han}/u.test(word) || known(word.toLowerCase())) return [word];
    const parts = [];
    for (let start = 0; start < word.length; ) {
      let end = word.length;
      while (end > start + 1 && !known(word.slice(start, end).toLowerCase())) end -= 1;
      parts.push(word.slice(start, end));
      start = end;
    }
    return parts;
  });
};
