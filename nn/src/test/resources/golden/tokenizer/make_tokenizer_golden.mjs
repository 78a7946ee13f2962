// Golden reference for TokenizerGoldenTest (spec §5, §8 "tokenizer" row): encodes the prompt templates of
// spec §4.5 and some edge texts with Hugging Face's own JS port of `tokenizers` and writes expected.json
// (ids with add_special_tokens=true, decode with skip_special_tokens true and false).
//
// Run (reference library outside the repo):
//   mkdir -p /tmp/tokref && cd /tmp/tokref && npm init -y && npm install @huggingface/tokenizers@0.2.0
//   cd <this dir> && node make_tokenizer_json.mjs && NODE_PATH=/tmp/tokref/node_modules node make_tokenizer_golden.mjs
// (ESM ignores NODE_PATH, so the module is imported from $TOKREF/node_modules, default /tmp/tokref.)
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const TOKREF = process.env.TOKREF ?? "/tmp/tokref";
const { Tokenizer } = await import(
  pathToFileURL(join(TOKREF, "node_modules/@huggingface/tokenizers/dist/tokenizers.mjs")).href);

// spec §4.5 templates
const SYSTEM_VICUNA = "A chat between a curious user and an artificial intelligence assistant. "
  + "The assistant gives helpful, detailed, and polite answers to the user's questions.";
const vicuna = (ph, q) => `${SYSTEM_VICUNA} USER: ${ph}\n${q} ASSISTANT:`;
const chatml = (ph, q) => "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
  + `<|im_start|>user\n${ph}\n${q}<|im_end|>\n<|im_start|>assistant\n`;
const Q = "what color is the circle?";
const LONG = "<video>".repeat(600);

// edge texts shared by both styles
const EDGE = [
  ["digits_punct", "Frames 1, 2 and 10: 3.14159 ($5.99) [ok] {x}; a-b_c \"quoted\" 'single' 100% #42 @home!?"],
  ["unicode", "caf\u00e9 na\u00efve \u00e9t\u00e9, \u65e5\u672c\u8a9e \u65e5\u672c, emoji \ud83d\ude00\ud83c\udfac and e\u0301 (decomposed)"],
  ["spaces", "  leading two, double  space, trailing two  "],
  ["newlines_tabs", "line one\nline two\n\nafter blank\ttab\r\nwindows"],
  ["contractions", "I'M sure it's the user's; THEY'RE here, we've, HE'LL, she'd, don't"],
  ["placeholders_glued", "x<image>y <video>  z\n<image>\n\n<video>"],
  ["empty", ""],
  ["single_space", " "],
];

const CASES = {
  llama: [
    ["vicuna_v1_video", vicuna("<video>", Q)],
    ["vicuna_v1_image", vicuna("<image>", Q)],
    ["vicuna_v1_multiturn", vicuna("<video>", Q) + " The circle is red.</s>USER: and the square? ASSISTANT:"],
    ["llava_hf_short", `USER: <image>\n${Q} ASSISTANT:`],
    ...EDGE,
    ["long_600_video", vicuna(LONG, Q)],
  ],
  qwen2: [
    ["chatml_video", chatml("<video>", Q)],
    ["chatml_image", chatml("<image>", Q)],
    ["chatml_multiturn", chatml("<video>", Q) + "The circle is red.<|im_end|>\n<|im_start|>user\nand the square?<|im_end|>\n<|im_start|>assistant\n"],
    ["chatml_endoftext", "text<|endoftext|>more"],
    ...EDGE,
    ["long_600_video", chatml(LONG, Q)],
  ],
};
const TOKENS = {
  llama: ["<unk>", "<s>", "</s>", "<image>", "<video>", "\u2581", "<0x0A>", "\u2581the"],
  qwen2: ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>", "\u010a", "\u0120the"],
};

const out = { generator: "@huggingface/tokenizers 0.2.0 (HF JS port of tokenizers), make_tokenizer_golden.mjs" };
for (const style of Object.keys(CASES)) {
  const json = JSON.parse(readFileSync(join(HERE, style, "tokenizer.json"), "utf8"));
  // the Rust Tokenizer.decode never cleans up spaces; the JS port does unless told not to
  const tok = new Tokenizer(json, { clean_up_tokenization_spaces: false });
  const token_ids = {};
  for (const t of TOKENS[style]) {
    const id = tok.token_to_id(t);
    if (id === undefined) throw new Error(`${style}: ${t} not in vocabulary`);
    token_ids[t] = id;
  }
  const cases = CASES[style].map(([name, text]) => {
    const { ids, tokens } = tok.encode(text, { add_special_tokens: true });
    const dec = (skip) => (ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false }));
    return { name, text, ids, tokens: name.startsWith("long") ? undefined : tokens,
      decoded_skip_special: dec(true), decoded_with_special: dec(false) };
  });
  out[style] = { tokenizer: `${style}/tokenizer.json`, token_ids, cases };
  for (const c of cases) console.log(style, c.name, c.ids.length, JSON.stringify(c.decoded_skip_special).slice(0, 80));
}
// one case per line keeps the file small and diffs readable
const lines = ["{", `"generator": ${JSON.stringify(out.generator)},`];
for (const style of Object.keys(CASES)) {
  const { tokenizer, token_ids, cases } = out[style];
  lines.push(`${JSON.stringify(style)}: {"tokenizer": ${JSON.stringify(tokenizer)}, "token_ids": ${JSON.stringify(token_ids)}, "cases": [`);
  lines.push(cases.map((c) => JSON.stringify(c)).join(",\n"));
  lines.push(style === "qwen2" ? "]}" : "]},");
}
lines.push("}");
const text = lines.join("\n") + "\n";
JSON.parse(text); // well-formed
writeFileSync(join(HERE, "expected.json"), text);
console.log("wrote", join(HERE, "expected.json"));
