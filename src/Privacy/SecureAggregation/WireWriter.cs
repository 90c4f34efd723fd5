using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// Builds one message: the header (magic "SA", version, kind, round number, sender id; 12 bytes) and then
/// little-endian fields. The reader (<see cref="WireReader"/>) checks every field of the same layout.
/// </summary>
internal sealed class WireWriter
{
    public const int ServerId = -1;
    public const byte Version = 1;
    public const int HeaderBytes = 12;

    private byte[] _buffer;
    private int _length;

    public WireWriter(MessageKind kind, int round, int sender, int capacity = 256)
    {
        _buffer = new byte[Math.Max(capacity, HeaderBytes)];
        WriteByte((byte)'S');
        WriteByte((byte)'A');
        WriteByte(Version);
        WriteByte((byte)kind);
        WriteInt32(round);
        WriteInt32(sender);
    }

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), value);

    public void WriteBytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    /// <summary>A length (int32) then the bytes.</summary>
    public void WriteBlob(ReadOnlySpan<byte> bytes)
    {
        WriteInt32(bytes.Length);
        WriteBytes(bytes);
    }

    /// <summary>A count (int32) then the ids.</summary>
    public void WriteIds(IReadOnlyCollection<int> ids)
    {
        WriteInt32(ids.Count);
        foreach (int id in ids) WriteInt32(id);
    }

    /// <summary>The words as little-endian uint32 (a plain copy on little-endian machines).</summary>
    public void WriteWords(ReadOnlySpan<int> words)
    {
        var target = Reserve(words.Length * 4);
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(words).CopyTo(target);
        else for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(target[(4 * i)..], words[i]);
    }

    /// <summary>The message; the buffer itself when it was sized exactly (large masked inputs are not copied twice).</summary>
    public byte[] ToArray() => _length == _buffer.Length ? _buffer : _buffer.AsSpan(0, _length).ToArray();

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
