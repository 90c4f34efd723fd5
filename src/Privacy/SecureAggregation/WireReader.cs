using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// Reads one message defensively: every read is bounds-checked and every failure is a <see cref="PrivacyException"/>
/// that names the sender (<c>who</c>), the message kind and the field that was wrong, never an
/// IndexOutOfRangeException.
/// </summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _who;
    private readonly MessageKind _kind;
    private int _offset;

    /// <summary>Checks the header: magic, version, the expected kind, round and sender.</summary>
    public WireReader(ReadOnlySpan<byte> data, string who, MessageKind expectedKind, int expectedRound, int expectedSender)
    {
        _data = data;
        _who = who;
        _kind = expectedKind;
        _offset = 0;
        if (data.Length < WireWriter.HeaderBytes)
            throw Fail($"message is {data.Length} bytes, shorter than the {WireWriter.HeaderBytes}-byte header");
        if (data[0] != (byte)'S' || data[1] != (byte)'A')
            throw Fail($"message does not start with the magic \"SA\" (got 0x{data[0]:X2} 0x{data[1]:X2})");
        if (data[2] != WireWriter.Version) throw Fail($"message version {data[2]} is not {WireWriter.Version}");
        if (data[3] != (byte)expectedKind)
            throw Fail($"message kind is {(Enum.IsDefined((MessageKind)data[3]) ? ((MessageKind)data[3]).ToString() : data[3].ToString())}, expected {expectedKind}");
        _offset = 4;
        int round = ReadInt32("round number");
        if (round != expectedRound) throw Fail($"message is for round {round}, expected round {expectedRound}");
        int sender = ReadInt32("sender id");
        if (sender != expectedSender) throw Fail($"message names sender {sender}, but came from {expectedSender}");
    }

    public int ReadInt32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));

    public ulong ReadUInt64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    public byte ReadByte(string field) => Take(1, field)[0];

    public ReadOnlySpan<byte> ReadBytes(int count, string field) => Take(count, field);

    /// <summary>A count in [min, max], for lists: refuses negative or absurd counts before anything is allocated.</summary>
    public int ReadCount(string field, int min, int max)
    {
        int count = ReadInt32(field);
        if (count < min || count > max) throw Fail($"{field} is {count}, outside [{min}, {max}]");
        return count;
    }

    /// <summary>A length-prefixed blob of at most <paramref name="maxLength"/> bytes.</summary>
    public ReadOnlySpan<byte> ReadBlob(string field, int maxLength)
    {
        int length = ReadCount(field + " length", 0, maxLength);
        return Take(length, field);
    }

    /// <summary>A count then that many ids, none negative or repeated.</summary>
    public int[] ReadIds(string field, int maxCount)
    {
        int count = ReadCount(field + " count", 0, maxCount);
        var ids = new int[count];
        var seen = new HashSet<int>();
        for (int i = 0; i < count; i++)
        {
            ids[i] = ReadInt32(field);
            if (ids[i] < 0) throw Fail($"{field} lists client {ids[i]}, a negative id");
            if (!seen.Add(ids[i])) throw Fail($"{field} lists client {ids[i]} twice");
        }
        return ids;
    }

    /// <summary>Exactly <paramref name="destination"/>.Length little-endian 32-bit words.</summary>
    public void ReadWords(Span<int> destination, string field)
    {
        var bytes = Take(checked(destination.Length * 4), field);
        if (BitConverter.IsLittleEndian) bytes.CopyTo(MemoryMarshal.AsBytes(destination));
        else for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]);
    }

    /// <summary>Refuses trailing bytes: a message of the right kind but the wrong length is malformed.</summary>
    public void ExpectEnd()
    {
        if (_offset != _data.Length) throw Fail($"message has {_data.Length - _offset} unexpected trailing bytes after {_offset}");
    }

    public readonly PrivacyException Fail(string what) => new($"{_who}: malformed {_kind} message: {what}.");

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count < 0 || _data.Length - _offset < count)
            throw Fail($"message ends at {_data.Length} bytes while reading {field} ({count} bytes at offset {_offset}): short message");
        var span = _data.Slice(_offset, count);
        _offset += count;
        return span;
    }
}
