// The image, volume, commit, diff and rm verbs: thin wrappers that read flags, call the library and print.
// Loaded only when one of these verbs runs, so `run` and `--help` never load the image code.

import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';
import { locateHelper } from '../helper/run-helper.js';
import type { CliEnvironment, GlobalArgs } from './main.js';

export interface StoreVerbArgs extends GlobalArgs {
  verb: string;
  sub?: string | undefined;
  positionals: string[];
  change: string[];
  pause: boolean;
  message?: string | undefined;
  quiet: boolean;
  force: boolean;
}

export async function storeVerb(args: StoreVerbArgs, cli: CliEnvironment, log: Logger): Promise<number> {
  const helperPath = () => locateHelper(cli.cliPath, cli.env.SHIM_HELPER);
  const [first, second] = args.positionals;
  const need = (value: string | undefined, what: string): string => {
    if (!value) throw new RuntimeError('usage', `${args.verb}${args.sub ? ` ${args.sub}` : ''} needs ${what}`);
    return value;
  };
  switch (args.verb) {
    case 'image':
      return imageVerb(args, cli, log, helperPath, need);
    case 'volume':
      return volumeVerb(args, cli, need);
    case 'commit': {
      const { commitContainer } = await import('../images/commit.js');
      const result = await commitContainer(need(first, 'a container ID'), need(second, 'NAME:TAG'), {
        root: args.root, dataRoot: args.dataRoot, helperPath: helperPath(), log, changes: args.change, pause: args.pause, comment: args.message,
      });
      cli.stdout(`${result.imageId}\n`);
      return 0;
    }
    case 'diff': {
      const { diffContainer } = await import('../images/commit.js');
      const lines = await diffContainer(args.root, args.dataRoot, need(first, 'a container ID'));
      cli.stdout(lines.map((line) => `${line}\n`).join(''));
      return 0;
    }
    case 'rm': {
      const { removeStoppedContainer } = await import('../container/remove-container.js');
      for (const id of args.positionals) await removeStoppedContainer(args.root, args.dataRoot, id);
      return 0;
    }
  }
  throw new RuntimeError('usage', `unknown command ${args.verb}`);
}

async function imageVerb(
  args: StoreVerbArgs,
  cli: CliEnvironment,
  log: Logger,
  helperPath: () => string,
  need: (value: string | undefined, what: string) => string,
): Promise<number> {
  const [first, second] = args.positionals;
  const { ImageStore } = await import('../images/image-store.js');
  const store = new ImageStore(args.dataRoot);
  switch (args.sub) {
    case 'import': {
      const { importArchive } = await import('../images/import-archive.js');
      const progress = cli.stderrIsTTY ? progressBar(cli) : undefined;
      const imported = await importArchive(args.dataRoot, need(first, 'an archive FILE'), second, {
        helperPath: helperPath(), log, onProgress: progress?.update,
      });
      progress?.done();
      cli.stdout(`${imported.name} ${imported.configDigest}\n`);
      return 0;
    }
    case 'ls': {
      const images = await store.list();
      if (args.quiet) {
        cli.stdout(images.map((image) => `${image.configDigest.slice(7, 19)}\n`).join(''));
        return 0;
      }
      const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'LAYERS', 'SIZE']];
      for (const image of images) {
        const colon = image.name.lastIndexOf(':');
        const size = image.manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
        rows.push([image.name.slice(0, colon), image.name.slice(colon + 1), image.configDigest.slice(7, 19), String(image.manifest.layers.length), formatBytes(size)]);
      }
      cli.stdout(formatTable(rows));
      return 0;
    }
    case 'inspect': {
      const image = await store.get(need(first, 'an image NAME'));
      cli.stdout(`${JSON.stringify({
        Id: image.configDigest,
        RepoTags: [image.name],
        ManifestDigest: image.manifestDigest,
        Created: image.config.created,
        Architecture: image.config.architecture,
        Os: image.config.os,
        Config: image.config.config ?? {},
        RootFS: { Type: 'layers', Layers: image.config.rootfs.diff_ids },
        LayerDirs: image.layerDirs,
        History: image.config.history ?? [],
      }, null, 2)}\n`);
      return 0;
    }
    case 'rm': {
      const { StateStore } = await import('../state/state-store.js');
      // First what a killed import or commit left (a user's `image rm NAME` after one): even when NAME was
      // never written, the store ends as it was before.
      await store.collectGarbage();
      for (const reference of args.positionals) {
        const image = await store.get(reference);
        const states = new StateStore(args.root);
        const users: string[] = [];
        for (const id of await states.listIds()) {
          const state = await states.readState(id).catch(() => undefined);
          if (state && (state.imageId === image.configDigest || state.image === image.name)) users.push(id);
        }
        if (users.length > 0) {
          throw new RuntimeError('already-exists', `remove image ${image.name}: it is in use by container ${users.join(', ')}`, {
            hint: 'remove the container first',
          });
        }
        await store.untagAndCollect(image.name);
        cli.stdout(`Untagged: ${image.name}\n`);
      }
      return 0;
    }
    case 'export': {
      const { exportImage } = await import('../images/export-image.js');
      const reference = need(first, 'an image NAME');
      const file = need(second, 'a FILE');
      // The built-in image exists once something used it; exporting it (to podman load, ctr import) is a use.
      const { describeImage, ensureImage } = await import('../images/images.js');
      await ensureImage(await describeImage(reference, args.dataRoot, cli.cwd), args.dataRoot, { helperPath: helperPath(), log });
      await exportImage(args.dataRoot, reference, file);
      return 0;
    }
  }
  throw new RuntimeError('usage', `image: unknown command ${args.sub ?? ''}`, { hint: 'import, ls, inspect, rm, export' });
}

async function volumeVerb(args: StoreVerbArgs, cli: CliEnvironment, need: (value: string | undefined, what: string) => string): Promise<number> {
  const { VolumeStore } = await import('../volumes/volume-store.js');
  const store = new VolumeStore(args.dataRoot);
  const [first] = args.positionals;
  switch (args.sub) {
    case 'create': {
      const info = first ? (await store.ensure(first)).info : await store.createAnonymous();
      cli.stdout(`${info.name}\n`);
      return 0;
    }
    case 'ls': {
      const volumes = await store.list();
      if (args.quiet) cli.stdout(volumes.map((volume) => `${volume.name}\n`).join(''));
      else cli.stdout(formatTable([['DRIVER', 'VOLUME NAME'], ...volumes.map((volume) => [volume.driver, volume.name])]));
      return 0;
    }
    case 'inspect': {
      const infos = [];
      for (const name of args.positionals) {
        const info = await store.get(name);
        infos.push({ Name: info.name, Driver: info.driver, Mountpoint: info.mountpoint, CreatedAt: info.created, Anonymous: info.anonymous });
      }
      if (infos.length === 0) need(undefined, 'a volume NAME');
      cli.stdout(`${JSON.stringify(infos, null, 2)}\n`);
      return 0;
    }
    case 'rm':
      for (const name of args.positionals) {
        await store.remove(name, args.root);
        cli.stdout(`${name}\n`);
      }
      return 0;
    case 'prune': {
      for (const volume of await store.list()) {
        if ((await store.users(volume.name, args.root)).length > 0) continue;
        await store.destroy(volume.name);
        cli.stdout(`${volume.name}\n`);
      }
      return 0;
    }
  }
  throw new RuntimeError('usage', `volume: unknown command ${args.sub ?? ''}`, { hint: 'create, ls, inspect, rm, prune' });
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + 3))).join('') + '\n').join('');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)}kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)}MB`;
}

/** A one-line bar on stderr, redrawn at most ten times a second. */
function progressBar(cli: CliEnvironment): { update: (done: number, total: number, phase: string) => void; done: () => void } {
  let last = 0;
  let drawn = false;
  let lastPhase = '';
  return {
    update(done, total, phase) {
      const now = Date.now();
      if (now - last < 100 && done < total && phase === lastPhase) return;
      if (drawn && phase !== lastPhase) cli.stderr('\n');
      lastPhase = phase;
      last = now;
      drawn = true;
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const filled = Math.round(fraction * width);
      cli.stderr(`\r${phase.padEnd(9)} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}`);
    },
    done() {
      if (drawn) cli.stderr('\n');
    },
  };
}
