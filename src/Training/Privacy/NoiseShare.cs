using System.Security.Cryptography;
using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Privacy;

/// <summary>
/// One rank's share of DP-SGD's noise. The mechanism adds N(0, σ²C²) once to the global sum of the clipped
/// gradients; here each of the R ranks that compute gradients adds N(0, σ²C²/R) to its local sum, from its own
/// independent stream, so that the sum over the ranks carries exactly std σC (the variances of independent normals
/// add) and no rank knows the total noise. With <c>secureRandom</c> the normals come from the OS's secure generator
/// (<see cref="SecureGaussian"/>); otherwise from Philox keyed by 128 bits drawn once per rank from that generator,
/// a fresh stream per step and tensor.
/// </summary>
internal sealed class NoiseShare
{
    private readonly Seed128 _key;
    private readonly bool _secureRandom;
    private float[] _host = [];

    /// <param name="standardDeviationOfSum">σC, the std of the noise on the global sum.</param>
    /// <param name="shares">R, the ranks that each add a share.</param>
    /// <param name="secureRandom">Draw every normal from <see cref="RandomNumberGenerator"/>.</param>
    public NoiseShare(double standardDeviationOfSum, int shares, bool secureRandom)
    {
        if (shares < 1) throw new ArgumentOutOfRangeException(nameof(shares), shares, "at least one rank adds noise");
        StandardDeviation = standardDeviationOfSum / Math.Sqrt(shares);
        _secureRandom = secureRandom;
        Span<byte> key = stackalloc byte[16];
        RandomNumberGenerator.Fill(key);
        _key = Seed128.FromBytes(key);
    }

    /// <summary>The std of this rank's share: σC/√R.</summary>
    public double StandardDeviation { get; }

    /// <summary>Adds this rank's share to every tensor, for optimizer step <paramref name="step"/>.</summary>
    public void Add(IKernelBackend backend, IReadOnlyList<DeviceBuffer<float>> tensors, long step)
    {
        if (StandardDeviation == 0) return;
        for (int t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            if (_secureRandom)
            {
                if (_host.Length < tensor.Length) _host = new float[tensor.Length];
                var host = _host.AsSpan(0, tensor.Length);
                tensor.CopyTo(host);
                SecureGaussian.Add(host, StandardDeviation);
                tensor.CopyFrom(host);
            }
            else
            {
                // Philox takes (W0, W1) as its key and (W2, W3) into the counter: step and tensor select the stream.
                var seed = new Seed128(_key.W0, _key.W1, _key.W2 ^ (uint)step ^ ((uint)t << 24), _key.W3 ^ (uint)((ulong)step >> 32));
                backend.AddGaussianNoise(tensor, (float)StandardDeviation, seed);
            }
        }
    }
}
