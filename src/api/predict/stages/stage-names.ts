// The optional preprocessing stages by name, in pipeline order (normalize-image.ts runs them;
// PREPROCESS_STAGES in src/config/env.ts chooses them). No imports: config reads it at boot.
export const PREPROCESS_STAGES = ['background', 'components', 'outline-fill', 'stroke-width'] as const;
export type PreprocessStage = (typeof PREPROCESS_STAGES)[number];
/** The stages that measured better on the real-world set, and so run unless PREPROCESS_STAGES says otherwise. */
export const DEFAULT_STAGES: readonly PreprocessStage[] = ['background', 'components', 'outline-fill', 'stroke-width'];

/** "none", or a comma list of stage names; '' or undefined: the defaults. Throws on an unknown name. */
export function parseStages(text: string | undefined): PreprocessStage[] {
  if (text === undefined || text.trim() === '') return [...DEFAULT_STAGES];
  if (text.trim() === 'none') return [];
  return text.split(',').map((s) => {
    const name = s.trim();
    if (!(PREPROCESS_STAGES as readonly string[]).includes(name)) {
      throw new Error(`unknown preprocessing stage ${JSON.stringify(name)}: one of ${PREPROCESS_STAGES.join(', ')}, or none`);
    }
    return name as PreprocessStage;
  });
}
