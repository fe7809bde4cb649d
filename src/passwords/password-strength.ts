import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

let factory: ZxcvbnFactory | undefined;

/** zxcvbn-ts with the common and English dictionaries; user inputs (email, names, tenant) count as known words. */
export function passwordScore(password: string, userInputs: string[]): { score: number; warning: string | null; suggestions: string[] } {
  factory ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
    useLevenshteinDistance: false,
    // Longer passwords are strong by length; bounding the input bounds the matcher's work.
    maxLength: 128,
  });
  const r = factory.check(password, userInputs);
  return { score: r.score, warning: r.feedback.warning || null, suggestions: r.feedback.suggestions };
}
