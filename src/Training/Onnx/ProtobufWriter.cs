using System.Buffers.Binary;
using System.Text;

namespace AllReduceNet.Training.Onnx;

/// <summary>
/// The few pieces of the protobuf wire format that an ONNX file needs, written by hand (no generated code, no
/// dependency): varints, 32-bit floats, and length-delimited fields (strings, bytes, packed int64s, nested messages).
/// A field is a tag (field number shifted left 3, or'ed with the wire type) followed by its value. Fields that hold
/// their type's default (0, empty) are still written when asked: the ONNX readers accept both.
/// </summary>
internal sealed class ProtobufWriter
{
    private const int Varint = 0, Fixed32 = 5, LengthDelimited = 2;

    private readonly MemoryStream _buffer = new();

    /// <summary>The message written so far.</summary>
    public byte[] ToArray() => _buffer.ToArray();

    /// <summary>An int64 (or int32, or enum) field: a varint, negative values as their 10-byte two's complement.</summary>
    public ProtobufWriter Int64(int field, long value)
    {
        Tag(field, Varint);
        WriteVarint((ulong)value);
        return this;
    }

    /// <summary>A float field: 4 bytes, little-endian.</summary>
    public ProtobufWriter Float(int field, float value)
    {
        Tag(field, Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    /// <summary>A string field, UTF-8.</summary>
    public ProtobufWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A bytes field.</summary>
    public ProtobufWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, LengthDelimited);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    /// <summary>A repeated int64 field, packed (proto3's default encoding for repeated scalars).</summary>
    public ProtobufWriter PackedInt64(int field, IEnumerable<long> values)
    {
        var packed = new ProtobufWriter();
        foreach (long value in values) packed.WriteVarint((ulong)value);
        return Bytes(field, packed.ToArray());
    }

    /// <summary>A nested message field: <paramref name="write"/> fills the message, which is then written with its length.</summary>
    public ProtobufWriter Message(int field, Action<ProtobufWriter> write)
    {
        var nested = new ProtobufWriter();
        write(nested);
        return Bytes(field, nested.ToArray());
    }

    private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    private void WriteVarint(ulong value)
    {
        // Seven bits a byte, low group first; the high bit says another byte follows.
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }
}
