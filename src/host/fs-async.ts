// Promise versions of the node:fs calls that `run`, `exec`, `state` and the other hot verbs make, built from
// the callback API. node:fs/promises gives the same promises, but loading it costs ~4 ms per command on
// these machines (it brings readline and stream code for FileHandle's extras), which is more than all the
// work `shim state` does. Same calls, same errors (code, errno, path); only path-based calls are here:
// code that needs a FileHandle imports node:fs/promises, off the hot paths. Named imports: a namespace import
// of node:fs would make the bundle copy every property of it at load.

import {
  access as accessCallback,
  copyFile as copyFileCallback,
  lstat as lstatCallback,
  mkdir as mkdirCallback,
  readdir as readdirCallback,
  readFile as readFileCallback,
  readlink as readlinkCallback,
  rename as renameCallback,
  rm as rmCallback,
  rmdir as rmdirCallback,
  stat as statCallback,
  unlink as unlinkCallback,
  writeFile as writeFileCallback,
} from 'node:fs';
import { promisify } from 'node:util';

export const access = promisify(accessCallback);
export const copyFile = promisify(copyFileCallback);
export const lstat = promisify(lstatCallback);
export const mkdir = promisify(mkdirCallback);
export const readdir = promisify(readdirCallback);
export const readFile = promisify(readFileCallback);
export const readlink = promisify(readlinkCallback);
export const rename = promisify(renameCallback);
export const rm = promisify(rmCallback);
export const rmdir = promisify(rmdirCallback);
export const stat = promisify(statCallback);
export const unlink = promisify(unlinkCallback);
export const writeFile = promisify(writeFileCallback);
