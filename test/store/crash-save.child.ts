// Child process for the store atomicity test: starts a model save and dies (SIGKILL)
// halfway through writing the files, as a crashed worker would.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ModelRepository } from '../../src/store/model.repository.ts';
import { fakeModel } from '../fixtures/fake-model.ts';

const [dataDir, prefix, redisUrl] = process.argv.slice(2);
const redis = new Redis(redisUrl!);
const repo = new ModelRepository({
  dataDir: dataDir!,
  redis,
  prefix: prefix!,
  files: {
    async save(dir) {
      await writeFile(join(dir, 'model.json'), '{"format":"nndl-model","vers'); // half written
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    },
    async load() {
      throw new Error('unused');
    },
  },
});
await repo.save(fakeModel(), { name: 'doomed' });
