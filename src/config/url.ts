import { z } from 'zod';

/** Why `input` is not a usable base URL for an HTTP service, or undefined when it is. */
export function httpUrlProblem(input: string): string | undefined {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme \`${url.protocol.replace(/:$/, '')}\` is not http or https`;
  if (!url.hostname) return 'no host';
  // new URL() quietly drops an empty port (`http://host:` becomes `http://host/`): a port left out by mistake.
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(input.trim())?.[1] ?? '';
  if (authority.endsWith(':')) return 'empty port after `:`';
  // fetch() refuses URLs with credentials; paths are appended to this base, so a query or fragment would be lost.
  if (url.username || url.password) return 'credentials in the URL are not supported';
  if (url.search || url.hash) return 'a query or fragment cannot be part of a base URL';
  return undefined;
}

/** A zod type for the base URL of an HTTP service (`http://registry:8081`). */
export const httpUrl = z.string().superRefine((value, ctx) => {
  const problem = httpUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `expected an http(s) URL like \`http://registry:8081\`, got \`${value}\` (${problem})` });
});
