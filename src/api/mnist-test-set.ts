// What the routes that evaluate a model on MNIST's test set share: the data, loaded once per app
// instance on first use (a failed load is retried by the next request: the files may appear), and a
// queue that runs their evaluations one at a time (each holds a predictor's weights and scratch, so
// many requests at once wait their turn instead of multiplying that memory).
import { join } from 'node:path';
import { loadMnist, MnistError, type Mnist } from '../engine/index.ts';
import type { Config } from '../config/env.ts';
import { ApiError } from '../errors.ts';

/** MNIST, loaded on first call from the engine's own place (MNIST_DIR, else the data directory's cache); 503 when it is not there. */
export function lazyMnist(config: Pick<Config, 'MNIST_DIR' | 'DATA_DIR'>): () => Promise<Mnist> {
  let mnist: Promise<Mnist> | undefined;
  return () => {
    mnist ??= loadMnist({ dir: config.MNIST_DIR ?? join(config.DATA_DIR, 'mnist') }).catch((err: unknown) => {
      mnist = undefined; // try again next time
      if (err instanceof MnistError) throw new ApiError(503, 'unavailable', `the MNIST test set is unavailable: ${err.message}`);
      throw err;
    });
    return mnist;
  };
}

/** Runs the functions it is given one after another, in call order; a failure does not stop the next. */
export function oneAtATime(): <T>(fn: () => Promise<T>) => Promise<T> {
  let turn: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn);
    turn = run.catch(() => {});
    return run;
  };
}
