// Builds the two small, real-format tokenizer.json fixtures used by TokenizerGoldenTest
// (spec §5; the two tokenizer styles of the model families in spec §4):
//   llama/tokenizer.json : SentencePiece-style Llama BPE, the exact component layout of HF's
//                          Llama/Vicuna/llava-1.5-hf tokenizer.json (Prepend+Replace normalizer,
//                          no pre-tokenizer, byte_fallback BPE, <s> template, <image>/<video> added).
//   qwen2/tokenizer.json : Qwen2 byte-level BPE (NFC, Qwen2 Split regex + ByteLevel, ByteLevel decoder,
//                          no BOS), ChatML specials plus <image>/<video> as in llava-onevision-hf.
// The merges are learned by a small, deterministic BPE training on the prompt templates of spec §4.5
// plus some English, so real multi-piece merges are exercised. No dependencies: `node make_tokenizer_json.mjs`.
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const N_MERGES = 400;

const CORPUS = [
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.",
  "USER: what color is the circle? ASSISTANT: The circle is red.",
  "USER: what is happening in the video? ASSISTANT: A person is walking a dog in the park.",
  "You are a helpful assistant. Describe the video in detail. What happens after the ball falls?",
  "The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.",
  "Video question answering needs the model to look at every frame, compress the visual tokens and answer the question.",
  "The projector maps patch features to the language model. The tokens are placed where the image placeholder was.",
  "How many people are there in the scene? There are three people, two of them are sitting at a table.",
  "Where is the cat? The cat is on the red chair next to the window, and it is sleeping.",
  "Is the light on or off? It is on. Why did the man open the door? Because someone was knocking.",
  "Streaming video is cut into chunks; each chunk is decoded, sampled at one frame per second and encoded.",
  "I'm sure that it's the user's question. They're here, we've seen it, he'll answer and she'd agree. I don't know.",
  "The numbers are 1, 2, 3 and 10, 20, 30; the answer is 42. Prices: $5.99 (cheap) or $100 [expensive]!",
  "A caf\u00e9 in the city serves coffee and tea.",
];

function pairCounts(words) {
  const counts = new Map();
  for (const [syms, freq] of words) {
    for (let i = 0; i + 1 < syms.length; i++) {
      const k = syms[i] + "\u0000" + syms[i + 1];
      counts.set(k, (counts.get(k) ?? 0) + freq);
    }
  }
  return counts;
}

/** Classic BPE training: repeatedly merge the most frequent adjacent pair (ties: smallest pair string). */
function trainBpe(wordFreq, nMerges) {
  const words = [...wordFreq.entries()].sort().map(([w, f]) => [Array.from(w), f]);
  const merges = [];
  for (let m = 0; m < nMerges; m++) {
    const counts = pairCounts(words);
    let best = null;
    let bestCount = 1; // only merge pairs seen at least twice
    for (const [k, c] of [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      if (c > bestCount) {
        best = k;
        bestCount = c;
      }
    }
    if (best === null) break;
    const [a, b] = best.split("\u0000");
    merges.push([a, b]);
    for (const w of words) {
      const s = w[0];
      const out = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(a + b);
          i++;
        } else {
          out.push(s[i]);
        }
      }
      w[0] = out;
    }
  }
  return merges;
}

function addedToken(id, content) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function write(rel, obj) {
  const file = join(HERE, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(obj, null, 1) + "\n");
  console.log("wrote", file);
}

// ---------------------------------------------------------------- Llama (SentencePiece-style BPE)
function buildLlama() {
  const SP = "\u2581";
  const vocab = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) {
    vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  }
  // base alphabet: U+2581 and printable ASCII (spaces are U+2581 after normalisation). Everything else
  // (newline, tab, é, CJK, emoji) is not a piece and must go through byte_fallback, as in Llama.
  const alphabet = [SP];
  for (let c = 0x21; c <= 0x7e; c++) alphabet.push(String.fromCharCode(c));
  let next = 259;
  for (const ch of alphabet) vocab[ch] = next++;
  // words as SentencePiece sees them: "▁word" chunks of the normalised ("▁" + s.replace(" ", "▁")) text
  const wordFreq = new Map();
  for (const line of CORPUS) {
    const norm = SP + line.replace(/ /g, SP);
    for (const w of norm.split(new RegExp(`(?=${SP})`))) {
      if (![...w].every((ch) => ch in vocab)) continue; // skip words with byte-fallback characters
      wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
    }
  }
  const merges = trainBpe(wordFreq, N_MERGES);
  for (const [a, b] of merges) {
    if (!(a + b in vocab)) vocab[a + b] = next++;
  }
  const nVocab = next;
  const added = [addedToken(0, "<unk>"), addedToken(1, "<s>"), addedToken(2, "</s>"),
    addedToken(nVocab, "<image>"), addedToken(nVocab + 1, "<video>")];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SP },
        { type: "Replace", pattern: { String: " " }, content: SP },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SP }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

// ---------------------------------------------------------------- Qwen2 (byte-level BPE)
// GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 + n.
function bytesToUnicode() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return bs.map((b, i) => [b, String.fromCodePoint(cs[i])]); // in GPT-2/Qwen2 vocabulary order
}

export const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function buildQwen2() {
  const table = bytesToUnicode();
  const byteChar = new Map(table);
  const vocab = {};
  let next = 0;
  for (const [, ch] of table) vocab[ch] = next++;
  // JS RegExp has no inline (?i:...) in Node 20: same language spelled out case-insensitively.
  const jsPattern = new RegExp(
    QWEN2_PATTERN.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])"), "gu");
  const enc = new TextEncoder();
  const wordFreq = new Map();
  for (const line of CORPUS) {
    for (const piece of line.normalize("NFC").match(jsPattern) ?? []) {
      const w = [...enc.encode(piece)].map((b) => byteChar.get(b)).join("");
      wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
    }
  }
  const merges = trainBpe(wordFreq, N_MERGES);
  for (const [a, b] of merges) {
    if (!(a + b in vocab)) vocab[a + b] = next++;
  }
  const n = next;
  const added = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"].map((c, i) => addedToken(n + i, c));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN2_PATTERN }, behavior: "Isolated", invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

write("llama/tokenizer.json", buildLlama());
write("qwen2/tokenizer.json", buildQwen2());
