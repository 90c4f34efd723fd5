using System.Buffers.Binary;
using System.Security.Cryptography;
using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>
/// The Gaussian noise of client-level DP. Seeded (default): PrivacyOps.AddGaussianNoise's Philox stream, keyed by
/// (run seed, round, client, stream), so a run is reproducible whatever the rank count; anyone who knows the seed can
/// regenerate and subtract the noise, so it is for experiments only. Secure (--client-dp-secure-rng, as Opacus'
/// secure_mode): the uniforms come from the OS CSPRNG (RandomNumberGenerator) and go through the same Box-Muller
/// transform. Both draw from 24-bit uniforms, so |z| ≤ 5.77: the tail is cut, the variance is 1 − 1e-7.
/// </summary>
internal sealed class ClientDpNoise : IDisposable
{
    /// <summary>Which noise of a round a stream is; part of the key, so never renumber.</summary>
    public enum Stream : uint
    {
        ClientUpdate = 1,
        ClientCount = 2,
        ServerUpdate = 3,
        ServerCount = 4,
    }

    /// <summary>The client id of the server's streams.</summary>
    public const int ServerId = -1;

    private readonly IKernelBackend _backend;
    private readonly int _seed;
    private readonly bool _secure;
    private DeviceBuffer<float>? _buffer;

    public ClientDpNoise(IKernelBackend backend, int seed, bool secure)
    {
        _backend = backend;
        _seed = seed;
        _secure = secure;
    }

    /// <summary>values[k] += std · z_k.</summary>
    public void Add(Span<float> values, double std, int round, int client, Stream stream)
    {
        if (std == 0 || values.IsEmpty) return;
        if (_secure)
        {
            AddSecure(values, (float)std);
            return;
        }
        if (_buffer is null || _buffer.Length != values.Length)
        {
            _buffer?.Dispose();
            _buffer = _backend.Allocate<float>(values.Length);
        }
        _buffer.CopyFrom(values);
        _backend.AddGaussianNoise(_buffer, (float)std, KeyOf(round, client, stream));
        _buffer.CopyTo(values);
    }

    /// <summary>One normal sample times <paramref name="std"/>.</summary>
    public double Sample(double std, int round, int client, Stream stream)
    {
        if (std == 0) return 0;
        if (_secure)
        {
            Span<float> one = [0f];
            AddSecure(one, (float)std);
            return one[0];
        }
        return std * GaussianTransform.Normal(Philox4x32.StreamBlock(KeyOf(round, client, stream), 0), 0);
    }

    /// <summary>The Philox key of one noise stream: SplitMix64 over (seed, round) and (stream, client).</summary>
    public Seed128 KeyOf(int round, int client, Stream stream) =>
        Seed128.FromUInt64(Mix(Mix((ulong)(uint)_seed) ^ (uint)round), Mix(((ulong)stream << 32) | (uint)client));

    private static void AddSecure(Span<float> values, float std)
    {
        // One CSPRNG call per 4096 normals (16 KiB of uniforms), not per block of four.
        var bytes = new byte[Math.Min((values.Length + 3) / 4, 1024) * 16];
        for (int start = 0; start < values.Length; start += bytes.Length / 4)
        {
            RandomNumberGenerator.Fill(bytes);
            int end = Math.Min(values.Length, start + bytes.Length / 4);
            for (int i = start; i < end; i += 4)
            {
                var word = bytes.AsSpan((i - start) * 4, 16);
                var block = new UInt4(BinaryPrimitives.ReadUInt32LittleEndian(word), BinaryPrimitives.ReadUInt32LittleEndian(word[4..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(word[8..]), BinaryPrimitives.ReadUInt32LittleEndian(word[12..]));
                for (int lane = 0; lane < 4 && i + lane < end; lane++) values[i + lane] += std * GaussianTransform.Normal(block, lane);
            }
        }
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
