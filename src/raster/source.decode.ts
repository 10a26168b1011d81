/**
 * GDAL's errors carry no code, only text. When a tile's pixels cannot be decoded, the upload is
 * corrupt (validation decodes only its last blocks): that is a permanent failure the person who
 * uploaded it can act on, not an internal one to retry. Recognised by the decoders' own words.
 */
import { boundText } from '../pipeline/bounded.text.js';
import { redactLocalPaths, type Failure } from '../pipeline/failure.js';

/** What libtiff, GDAL's block reader, the codecs and netCDF say when stored bytes do not decode. */
const undecodable = /IReadBlock failed|TIFFRead(?:Encoded|Raw)(?:Tile|Strip)|Read error at|Decoding error|(?:ZIP|LZW|LZMA|ZSTD|JPEG|WEBP|LERC|PackBits|Fax3|Predictor)Decode|Corrupt|Not enough data|Premature end|NetCDF: (?:HDF error|Index exceeds|Start\+count exceeds|Not a valid data type)|Invalid (?:code|strip|tile)/i;

/** The failure for a source whose stored pixels do not decode, or `null` when the error says something else. */
export function describeUndecodableSource(message: string, known: ReadonlyArray<readonly [string, string]> = []): Failure | null {
  if (!undecodable.test(message)) return null;
  return {
    code: 'INVALID_INPUT',
    message: `some of its pixels cannot be decoded (${boundText(redactLocalPaths(message, known), 300)}); the file is corrupt — upload it again`,
  };
}
