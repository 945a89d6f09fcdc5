// `npm run chaos`: breaks a real nndl on this machine on purpose and prints one JSON line per
// figure (name, count, lost, fiveHundreds, seconds, ...). Each scenario runs its own Redis (AOF,
// fsync always, a free port), API and workers under a temp directory, so nothing else is touched.
//
//   npm run chaos [-- --only worker-kills,redis-kill,soak --kills 20 --jobs 20 --down 5 --soak-seconds 600]
//
// Exit status 1 when any scenario lost a job or answered a 5xx other than 503.
import { parseArgs } from 'node:util';
import { redisKill, soak, workerKills, type Figure } from './chaos/scenarios.ts';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'worker-kills,redis-kill,soak' },
    kills: { type: 'string', default: '20' },
    jobs: { type: 'string', default: '20' },
    down: { type: 'string', default: '5' },
    'soak-seconds': { type: 'string', default: '600' },
    'job-every': { type: 'string', default: '20' },
  },
});

const scenarios: Record<string, () => Promise<Figure>> = {
  'worker-kills': () => workerKills({ kills: Number(args.kills), jobs: Number(args.jobs) }),
  'redis-kill': () => redisKill({ downSeconds: Number(args.down) }),
  soak: () => soak({ seconds: Number(args['soak-seconds']), jobEverySeconds: Number(args['job-every']) }),
};

let bad = false;
for (const name of args.only!.split(',')) {
  const run = scenarios[name];
  if (!run) {
    console.error(`chaos: unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  try {
    const figure = await run();
    console.log(JSON.stringify(figure));
    if (figure.lost > 0 || figure.fiveHundreds > 0) bad = true;
  } catch (err) {
    console.log(JSON.stringify({ name, error: (err as Error).message.slice(0, 4000) }));
    bad = true;
  }
}
process.exit(bad ? 1 : 0);
