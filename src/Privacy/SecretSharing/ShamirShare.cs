namespace AllReduceNet.Privacy.SecretSharing;

/// <summary>
/// One Shamir share: the evaluation at <see cref="X"/> of one random polynomial per 7-byte chunk of the secret, over the
/// field of integers modulo 2^61 - 1.
/// </summary>
/// <param name="X">The share's x coordinate, 1 or more (x = 0 would be the secret itself).</param>
/// <param name="Values">One field element (below 2^61 - 1) per chunk of the secret.</param>
public sealed record ShamirShare(int X, ulong[] Values);
