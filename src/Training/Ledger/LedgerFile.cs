using System.Buffers.Binary;
using System.Security.Cryptography;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// A peer's own copy of the ledger on disk: an append-only file of block records, each framed as
/// <c>[magic "ARNR"][length int32][SHA-256 of the block bytes][block bytes]</c> (little-endian) and forced to disk
/// (fsync) before <see cref="Append"/> returns. Opening reads every record and checks its checksum. A crash in the
/// middle of an append leaves a torn tail: a last record cut short, or whose checksum fails; it is cut off (the file
/// truncated to the last whole record) and reported in <see cref="TornTail"/>. A bad record followed by more data is
/// not a torn write but damage, and is an error naming the file and the offset.
/// </summary>
internal sealed class LedgerFile : IDisposable
{
    private const uint RecordMagic = 0x524E5241; // "ARNR"
    private const int FrameBytes = 8 + 32;
    private readonly FileStream _stream;
    // Where each record ends (record i holds block i), so the file can be cut back to a block.
    private readonly List<long> _recordEnds;

    private LedgerFile(string path, FileStream stream, List<LedgerBlock> blocks, List<long> recordEnds, string? tornTail)
    {
        Path = path;
        _stream = stream;
        Blocks = blocks;
        _recordEnds = recordEnds;
        TornTail = tornTail;
    }

    /// <summary>Records in the file now (those read at open plus those appended since, less any truncated).</summary>
    public int RecordCount => _recordEnds.Count;

    public string Path { get; }

    /// <summary>The blocks read at open, in file order (not yet verified: that is the chain's job).</summary>
    public IReadOnlyList<LedgerBlock> Blocks { get; }

    /// <summary>What was cut off at open ("N bytes at offset X: reason"), or null when the file ended cleanly.</summary>
    public string? TornTail { get; }

    /// <summary>Opens (creating if absent) the ledger file at <paramref name="path"/>, recovering a torn tail.</summary>
    /// <exception cref="TrainingException">The file is damaged before its last record, or cannot be opened.</exception>
    public static LedgerFile Open(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"ledger file {path} cannot be opened: {e.Message}", e);
        }
        try
        {
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            var blocks = new List<LedgerBlock>();
            var ends = new List<long>();
            long at = 0;
            string? torn = null;
            while (at < bytes.Length)
            {
                string? problem = ReadRecord(bytes, at, out int recordBytes, out var block);
                if (problem is null) { blocks.Add(block!); at += recordBytes; ends.Add(at); continue; }
                // Only the last record may be torn: one whose frame reaches the end of the file.
                if (recordBytes < 0 || at + recordBytes >= bytes.Length)
                {
                    torn = $"{bytes.Length - at} bytes at offset {at}: {problem}";
                    stream.SetLength(at);
                    stream.Flush(flushToDisk: true);
                    break;
                }
                throw new TrainingException($"ledger file {path} is damaged at offset {at} (record {blocks.Count}, more records follow): {problem}. Move it away to fetch the ledger from a neighbour.");
            }
            stream.Seek(0, SeekOrigin.End);
            return new LedgerFile(path, stream, blocks, ends, torn);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends one block record and forces it to disk.</summary>
    public void Append(LedgerBlock block)
    {
        var body = LedgerBlockCodec.Encode(block);
        var record = new byte[FrameBytes + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, RecordMagic);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), body.Length);
        SHA256.HashData(body, record.AsSpan(8, 32));
        body.CopyTo(record, FrameBytes);
        _stream.Write(record);
        _stream.Flush(flushToDisk: true);
        _recordEnds.Add(_stream.Position);
        BytesWritten += record.Length;
        LastRecordBytes = record.Length;
    }

    /// <summary>
    /// Cuts the file back to its first <paramref name="records"/> records (blocks 0 to records - 1) and forces that to
    /// disk: the one exception to append-only, for a fork's losing blocks, which the caller has first written to an
    /// audit file.
    /// </summary>
    public void TruncateTo(int records)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(records, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(records, _recordEnds.Count);
        _stream.SetLength(_recordEnds[records - 1]);
        _stream.Flush(flushToDisk: true);
        _stream.Seek(0, SeekOrigin.End);
        _recordEnds.RemoveRange(records, _recordEnds.Count - records);
    }

    /// <summary>Bytes appended since open.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Size of the last record appended (frame included).</summary>
    public long LastRecordBytes { get; private set; }

    /// <returns>null when a whole valid record starts at <paramref name="at"/>; else why not. <paramref name="recordBytes"/>
    /// is the record's full size when its frame could be read, else -1.</returns>
    private static string? ReadRecord(byte[] bytes, long at, out int recordBytes, out LedgerBlock? block)
    {
        block = null;
        recordBytes = -1;
        long left = bytes.Length - at;
        if (left < FrameBytes) return $"a record frame needs {FrameBytes} bytes, {left} are left";
        var span = bytes.AsSpan((int)at);
        if (BinaryPrimitives.ReadUInt32LittleEndian(span) != RecordMagic) { recordBytes = (int)Math.Min(left, int.MaxValue); return "no record magic"; }
        int length = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        if (length < 0 || length > left - FrameBytes) return $"the record claims {length} bytes, {left - FrameBytes} are left";
        recordBytes = FrameBytes + length;
        var body = span.Slice(FrameBytes, length);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(span.Slice(8, 32))) return "its checksum does not match";
        try { block = LedgerBlockCodec.Decode(body); }
        catch (LedgerFormatException e) { return $"the block cannot be decoded: {e.Message}"; }
        return null;
    }

    public void Dispose() => _stream.Dispose();
}
