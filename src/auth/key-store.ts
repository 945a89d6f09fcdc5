// The API's keys: those of API_KEYS plus those of the keys file, as one KeyRing. The file is
// re-read when it changes (checked every few seconds), so `npm run keys -- create/revoke`
// takes effect without a restart; a file that has become invalid keeps the last good keys.
import { stat } from 'node:fs/promises';
import { ApiKeyError, KeyRing, parseApiKeysEnv, type ApiKey } from './api-keys.ts';
import { keyFilePath, keysOfFile, readKeyFile } from './key-file.ts';
import type { Principal } from './scopes.ts';

export type KeyStoreConfig = { API_KEYS?: string | undefined; API_KEYS_FILE?: string | undefined; DATA_DIR: string };

/** How often the keys file is checked for changes. */
export const KEY_FILE_POLL_MS = 2000;

type FileStamp = string; // mtime, size and inode: a rename or an edit changes it

const stampOf = (path: string): Promise<FileStamp | null> =>
  stat(path).then((s) => `${s.mtimeMs}:${s.size}:${s.ino}`, () => null);

export class KeyStore {
  private ring: KeyRing;
  private stamp: FileStamp | null;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    readonly filePath: string,
    private readonly envKeys: readonly ApiKey[],
    fileKeys: readonly ApiKey[],
    stamp: FileStamp | null,
  ) {
    this.ring = new KeyRing([...envKeys, ...fileKeys]);
    this.stamp = stamp;
  }

  /** Reads API_KEYS and the keys file; throws ApiKeyError with every problem found. */
  static async load(config: KeyStoreConfig): Promise<KeyStore> {
    const envKeys = parseApiKeysEnv(config.API_KEYS);
    const path = keyFilePath(config);
    const stamp = await stampOf(path);
    const file = await readKeyFile(path);
    if (!file && config.API_KEYS_FILE !== undefined) {
      throw new ApiKeyError(
        [`it does not exist; \`npm run keys -- create NAME --scopes predict\` creates it with a first key`],
        `API_KEYS_FILE=${config.API_KEYS_FILE}`,
      );
    }
    return new KeyStore(path, envKeys, file ? keysOfFile(file) : [], stamp);
  }

  get size(): number {
    return this.ring.size;
  }

  names(): string[] {
    return this.ring.names();
  }

  verify(secret: string): Principal | null {
    return this.ring.verify(secret);
  }

  /** Re-reads the keys file if it changed. Returns true when the keys were replaced. */
  async reload(): Promise<boolean> {
    const stamp = await stampOf(this.filePath);
    if (stamp === this.stamp) return false;
    const file = await readKeyFile(this.filePath); // throws on an invalid file: the old keys stay
    const ring = new KeyRing([...this.envKeys, ...(file ? keysOfFile(file) : [])]);
    this.ring = ring;
    this.stamp = stamp;
    return true;
  }

  /** Polls the file; onChange after a reload, onError when the file is invalid (old keys kept). */
  watch(handlers: { onChange(names: string[]): void; onError(err: Error): void }, intervalMs = KEY_FILE_POLL_MS): void {
    if (this.timer) return;
    let busy = false;
    let lastError = '';
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.reload().then(
        (changed) => {
          lastError = '';
          if (changed) handlers.onChange(this.names());
        },
        (err: Error) => {
          if (err.message !== lastError) handlers.onError(err); // once per distinct problem
          lastError = err.message;
        },
      ).finally(() => (busy = false));
    }, intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
