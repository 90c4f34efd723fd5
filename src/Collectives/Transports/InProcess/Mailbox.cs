namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>
/// The matching engine of one receiving rank, as in an MPI library: receives posted with no message yet, and sends
/// that arrived before their receive. Both lists are kept in posting order, so messages between two ranks never
/// overtake each other. The lock only guards the lists; the copy happens outside it.
/// </summary>
internal sealed class Mailbox
{
    private readonly object _gate = new();
    private readonly List<InProcessRequest> _postedReceives = new();
    private readonly List<InProcessRequest> _unexpectedSends = new();

    public void PostSend(InProcessRequest send)
    {
        InProcessRequest? receive = null;
        bool eager = false;
        int sender = send.Owner.Rank;
        lock (_gate)
        {
            for (int i = 0; i < _postedReceives.Count; i++)
            {
                if (_postedReceives[i].Matches(send, sender))
                {
                    receive = _postedReceives[i];
                    _postedReceives.RemoveAt(i);
                    break;
                }
            }
            if (receive is null)
            {
                eager = send.Bytes <= InProcessRequest.EagerLimitBytes && !send.Lends;
                if (eager) send.StageEagerly();
                _unexpectedSends.Add(send);
            }
        }
        if (receive is not null) InProcessRequest.Transfer(send, receive);
        else if (eager) send.Complete();
    }

    public void PostReceive(InProcessRequest receive)
    {
        InProcessRequest? send = null;
        lock (_gate)
        {
            for (int i = 0; i < _unexpectedSends.Count; i++)
            {
                if (receive.Matches(_unexpectedSends[i], _unexpectedSends[i].Owner.Rank))
                {
                    send = _unexpectedSends[i];
                    _unexpectedSends.RemoveAt(i);
                    break;
                }
            }
            if (send is null) _postedReceives.Add(receive);
        }
        if (send is not null) InProcessRequest.Transfer(send, receive);
    }

    /// <summary>Copies the statuses of up to <paramref name="into"/>.Length collective messages that arrived with no receive posted for them, oldest first.</summary>
    public int UnexpectedCollectiveMessages(Span<MessageStatus> into)
    {
        int found = 0;
        lock (_gate)
        {
            foreach (var send in _unexpectedSends)
            {
                if (found == into.Length) break;
                if (send.Channel == MessageChannel.Collective) into[found++] = new MessageStatus(send.Owner.Rank, send.Tag, send.Bytes);
            }
        }
        return found;
    }

    /// <summary>Removes a request that has not matched yet; false when it already matched.</summary>
    public bool TryWithdraw(InProcessRequest request)
    {
        lock (_gate)
            return request.IsSend ? _unexpectedSends.Remove(request) : _postedReceives.Remove(request);
    }
}
