/**
 * Every project the documentation shows validates (issue 11, item 1): each ```yaml block of
 * README.md and docs/*.md that is a whole project file (it has `version:`) goes through the
 * validator, with every `${VAR}` it references set.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateProject } from '../../src/config/validate-project.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** README.md and every docs/*.md, relative to the repository root. */
const DOCUMENTS = ['README.md', ...readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The ```yaml blocks of a Markdown text with the line each starts on. */
function yamlBlocks(markdown: string): Array<{ line: number; text: string }> {
  const blocks: Array<{ line: number; text: string }> = [];
  const fence = /^( *)```ya?ml[^\n]*\n([\s\S]*?)^\1```/gm;
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1]!.length;
    const text = match[2]!.split('\n').map((l) => l.slice(indent)).join('\n');
    blocks.push({ line: markdown.slice(0, match.index).split('\n').length, text });
  }
  return blocks;
}

/** A plausible value for every `${NAME}` the text references (URLs for *_URL, else a token of its own: two tokens may have to differ). */
function envFor(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name] of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
    env[name!] = /URL$/.test(name!) ? 'https://hooks.example.com/T000/B000' : `${name!.toLowerCase()}-0123456789abcdef0123456789abcdef`;
  }
  return env;
}

const projects = DOCUMENTS.flatMap((file) =>
  yamlBlocks(readFileSync(`${ROOT}${file}`, 'utf8'))
    .filter((block) => /^version:/m.test(block.text))
    .map((block) => ({ name: `${file}:${block.line}`, text: block.text })),
);

describe('the projects the documentation shows', () => {
  it('README.md shows at least one whole project', () => {
    expect(projects.some((p) => p.name.startsWith('README.md:'))).toBe(true);
  });

  it.each(projects)('$name validates', ({ text }) => {
    const { issues } = validateProject(parse(text), envFor(text), { projectDir: ROOT });
    expect(issues).toEqual([]);
  });

  it('the README example shows every destination setting that run errors name', () => {
    const readme = projects.find((p) => p.name.startsWith('README.md:'))!;
    const destination = Object.values((parse(readme.text) as { destinations: Record<string, Record<string, unknown>> }).destinations)[0]!;
    expect(Object.keys(destination)).toEqual(expect.arrayContaining(['base_url', 'concurrency', 'batch_size', 'timeout_ms', 'max_attempts', 'late_write_ms']));
  });
});
