// Redis keys of the model store, in one place: the model and alias repositories share them so
// that an alias change and a delete can be one atomic script (no alias to a model going away).
export function storeKeys(prefix: string) {
  return {
    /** zset id -> createdAt ms: what gets listed. */
    index: `${prefix}:models:index`,
    /** hash id -> ModelRecord JSON. */
    records: `${prefix}:models:records`,
    /** set of deleted model ids: tombstones, so boot repair never brings a deleted model back. */
    deleted: `${prefix}:models:deleted`,
    /** hash alias name -> model id. */
    aliases: `${prefix}:aliases`,
  };
}
