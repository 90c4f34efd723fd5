namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>The type byte of a secure aggregation message: client-to-server kinds are even, server-to-client odd.</summary>
internal enum MessageKind : byte
{
    AdvertiseKeys = 0,
    KeysBroadcast = 1,
    ShareKeys = 2,
    SharesRelay = 3,
    MaskedInput = 4,
    UnmaskRequest = 5,
    UnmaskShares = 6,
}
