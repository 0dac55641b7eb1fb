import { Liquid } from 'liquidjs';

/**
 * The one Liquid engine for endpoint body templates: no file system, no includes, bounded work. Templates come from
 * admins but run on every delivery, so render time and output size are capped.
 */
export const liquid = new Liquid({
  cache: 500,
  strictFilters: true,
  ownPropertyOnly: true,
  relativeReference: false,
  renderLimit: 200, // ms of render time per template
  memoryLimit: 1 << 20, // bytes of output-ish memory accounting per render
  parseLimit: 64 * 1024, // template source length
});

/** Returns why a template does not parse, or undefined when it does. */
export function templateError(source: string): string | undefined {
  try {
    liquid.parse(source);
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}
