/** The --memory option of the commands that stream zoos larger than memory from their files. */
import { defaultMemory, formatBytes, parseBytes } from '../util/memory.ts';
import { text } from './options.ts';

export const memoryOption = (what: string) =>
  text({
    arg: 'SIZE',
    help: `memory for a zoo's weights (e.g. 4GB, 512MB); a larger zoo is streamed from its files\n(${what})`,
    defaultText: `${formatBytes(defaultMemory())}: 4 GB or half the machine's`,
    check: (name, value) => void parseBytes(name, value),
  });

/** The bound --memory gives, in bytes. */
export const memoryBound = (value: string | undefined): number =>
  value === undefined ? defaultMemory() : parseBytes('memory', value);
