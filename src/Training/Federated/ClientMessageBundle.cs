using System.Buffers.Binary;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// The protocol messages of several simulated clients as one length-prefixed blob, so that a rank moves one stage's
/// messages of all its clients in one exchange with the server: <c>[status][count] ([client][length][bytes])*</c>,
/// little-endian int32s. The status carries the server's verdict to the ranks (go on, or the round was aborted).
/// Every blob travels as its length (one int) then its bytes, with the communicator's timeout on each wait.
/// </summary>
internal static class ClientMessageBundle
{
    /// <summary>The server goes on with the next stage.</summary>
    public const int Continue = 0;

    /// <summary>The server aborted the round; the ranks stop.</summary>
    public const int Aborted = 1;

    private const int LengthTag = 7102, DataTag = 7103;

    public static byte[] Pack(int status, IReadOnlyList<(int Client, byte[] Message)> messages)
    {
        long size = 8 + messages.Sum(m => 8L + m.Message.Length);
        if (size > int.MaxValue) throw new TrainingException($"a bundle of {messages.Count} client messages needs {size} bytes, more than one message can carry.");
        var blob = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(blob, status);
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(4), messages.Count);
        int at = 8;
        foreach (var (client, message) in messages)
        {
            BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(at), client);
            BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(at + 4), message.Length);
            message.CopyTo(blob, at + 8);
            at += 8 + message.Length;
        }
        return blob;
    }

    /// <exception cref="TrainingException">The blob is cut short or has bytes left over (names <paramref name="from"/>).</exception>
    public static (int Status, List<(int Client, byte[] Message)> Messages) Unpack(byte[] blob, string from)
    {
        if (blob.Length < 8) throw new TrainingException($"a message bundle from {from} has {blob.Length} bytes, fewer than its 8-byte header.");
        int status = BinaryPrimitives.ReadInt32LittleEndian(blob);
        int count = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(4));
        if (count < 0 || count > (blob.Length - 8) / 8) throw new TrainingException($"a message bundle from {from} claims {count} messages in {blob.Length} bytes.");
        var messages = new List<(int, byte[])>(count);
        int at = 8;
        for (int i = 0; i < count; i++)
        {
            if (blob.Length - at < 8) throw new TrainingException($"a message bundle from {from} ends inside the header of message {i} of {count}.");
            int client = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(at));
            int length = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(at + 4));
            if (length < 0 || length > blob.Length - at - 8)
                throw new TrainingException($"a message bundle from {from}: client {client}'s message claims {length} bytes, but {blob.Length - at - 8} are left.");
            messages.Add((client, blob.AsSpan(at + 8, length).ToArray()));
            at += 8 + length;
        }
        if (at != blob.Length) throw new TrainingException($"a message bundle from {from} has {blob.Length - at} bytes after its {count} messages.");
        return (status, messages);
    }

    public static void Send(Communicator world, byte[] blob, int destination)
    {
        world.Send<int>([blob.Length], destination, LengthTag);
        world.Send<byte>(blob, destination, DataTag);
    }

    public static byte[] Receive(Communicator world, int source)
    {
        // One spare element each: a longer message than announced is then seen (and named) rather than failing the receive.
        Span<int> length = stackalloc int[2];
        var status = world.Receive(length, source, LengthTag);
        if (status.Count<int>() != 1 || length[0] < 8)
            throw new TrainingException($"rank {source} announced a message bundle badly ({status.Count<int>()} values, length {length[0]}).");
        var blob = new byte[length[0] + 1];
        status = world.Receive<byte>(blob, source, DataTag);
        if (status.Count<byte>() != length[0])
            throw new TrainingException($"rank {source} announced a message bundle of {length[0]} bytes but sent {status.Count<byte>()}.");
        return blob[..length[0]];
    }
}
