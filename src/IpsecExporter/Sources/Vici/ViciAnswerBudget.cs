namespace IpsecExporter.Sources.Vici;

/// <summary>
/// The most one collection may read from charon (<c>max_sas</c>, <c>max_answer_bytes</c> of a <c>vici</c> source):
/// a peer that streams <c>list-sa</c> events without ever sending the final response must not grow memory until the
/// timeout. The defaults hold a hub of 10,000 tunnels (about 15 MB of answers) several times over.
/// </summary>
public sealed record ViciCollectionLimits(int MaxSas = ViciCollectionLimits.DefaultMaxSas, int MaxAnswerBytes = ViciCollectionLimits.DefaultMaxAnswerBytes)
{
    public const int DefaultMaxSas = 200_000;

    public const int DefaultMaxAnswerBytes = 64 * 1024 * 1024;

    public static readonly ViciCollectionLimits Default = new();
}

/// <summary>A collection passed one of its <see cref="ViciCollectionLimits"/>; it is aborted and the connection replaced.</summary>
public sealed class ViciLimitException(string message) : Exception(message);

/// <summary>What one collection has read so far, checked against its limits before a frame is allocated.</summary>
public sealed class ViciAnswerBudget(ViciCollectionLimits limits)
{
    private long _bytes;
    private int _sas;

    /// <summary>Charges a frame of <paramref name="length"/> bytes before it is read.</summary>
    public void ChargeFrame(uint length)
    {
        _bytes += length;
        if (_bytes > limits.MaxAnswerBytes)
        {
            throw new ViciLimitException($"charon's answers to one collection exceed max_answer_bytes ({limits.MaxAnswerBytes} bytes); collection aborted");
        }
    }

    /// <summary>Counts the IKE SAs of a <c>list-sa</c> event and their CHILD SAs.</summary>
    public void CountSas(ViciSection listSaEvent)
    {
        foreach (var (_, ike) in listSaEvent.SectionSpan)
        {
            _sas += 1 + (ike.Section("child-sas")?.SectionSpan.Length ?? 0);
        }

        if (_sas > limits.MaxSas)
        {
            throw new ViciLimitException($"charon listed more than max_sas ({limits.MaxSas}) IKE and CHILD SAs in one collection; collection aborted");
        }
    }
}
