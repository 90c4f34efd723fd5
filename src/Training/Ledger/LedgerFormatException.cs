namespace AllReduceNet.Training.Ledger;

/// <summary>Bytes that are not a well-formed block record; the message says what is wrong with them.</summary>
internal sealed class LedgerFormatException(string message) : Exception(message);
