using System.Globalization;
using System.Text;

namespace IpsecExporter.Sources.Vici;

/// <summary>
/// Translates VICI messages (<c>list-sa</c>, <c>list-conn</c>, <c>version</c>, <c>stats</c> and the
/// <c>ike-updown</c>/<c>child-updown</c>/<c>ike-rekey</c>/<c>child-rekey</c> events) into the source-neutral
/// <see cref="SaSnapshot"/> model. Values charon sends as numbers must be numbers: anything else is a protocol error,
/// never a silent zero that would make a counter jump.
/// </summary>
public static class ViciSaMapper
{
    public const string IkeUpDown = "ike-updown";
    public const string ChildUpDown = "child-updown";
    public const string IkeRekey = "ike-rekey";
    public const string ChildRekey = "child-rekey";

    /// <summary>IKE SAs from the messages streamed by <c>list-sas</c> (one <c>&lt;connection&gt; = {...}</c> section each).</summary>
    public static List<IkeSa> MapListSas(IEnumerable<ViciSection> listSaEvents)
    {
        var ikeSas = new List<IkeSa>();
        foreach (var message in listSaEvents)
        {
            MapListSa(message, ikeSas);
        }

        return ikeSas;
    }

    /// <summary>The IKE SAs of one <c>list-sa</c> event, added to <paramref name="ikeSas"/> (as each event arrives).</summary>
    public static void MapListSa(ViciSection listSaEvent, List<IkeSa> ikeSas)
    {
        foreach (var (connection, ike) in listSaEvent.SectionSpan)
        {
            ikeSas.Add(MapIkeSa(connection, ike));
        }
    }

    /// <summary>Loaded connections from the messages streamed by <c>list-conns</c> (a rekey time of 0 means disabled).</summary>
    public static List<ConnectionInfo> MapListConns(IEnumerable<ViciSection> listConnEvents) =>
        listConnEvents.SelectMany(message => message.Sections, (_, conn) => new ConnectionInfo(
            conn.Name,
            Interval(conn.Section, "rekey_time", new Subject("connection", conn.Name)),
            Interval(conn.Section, "reauth_time", new Subject("connection", conn.Name)),
            (conn.Section.Section("children")?.Sections ?? []).Select(child => new ChildConfigInfo(
                child.Name,
                Interval(child.Section, "rekey_time", new Subject("child config", child.Name)),
                child.Section.List("local-ts"),
                child.Section.List("remote-ts"))).ToList())).ToList();

    /// <summary>
    /// How far charon's start time may move between two answers of the same process: charon derives it from the wall
    /// clock minus its uptime, in whole seconds, so it wobbles by a second between queries; a larger move is a restart.
    /// </summary>
    public static readonly TimeSpan StartTimeWobble = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The daemon run from <c>version</c> and <c>stats</c>' <c>uptime.since</c> (charon's local time,
    /// <c>Nov 29 13:30:08 2026</c>). The run keeps <paramref name="previous"/>'s id while the start time stays within
    /// <see cref="StartTimeWobble"/> of it (or is not told), so only a restart changes the id.
    /// </summary>
    public static SourceEpoch MapEpoch(ViciSection version, ViciSection? stats, SourceEpoch? previous)
    {
        var since = stats?.Section("uptime")?.Value("since");
        DateTimeOffset? startedAt = DateTimeOffset.TryParseExact(since, "MMM dd HH:mm:ss yyyy", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var parsed)
            ? parsed
            : null;
        var name = version.Value("daemon") ?? "charon";
        var release = version.Value("version") ?? "unknown";
        if (previous is not null && (startedAt is null || previous.StartedAt is not { } before || (startedAt.Value - before).Duration() <= StartTimeWobble))
        {
            return previous with { Name = name, Version = release, StartedAt = previous.StartedAt ?? startedAt };
        }

        return new(startedAt?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) ?? "unknown", name, release, startedAt);
    }

    /// <summary>What an event says went away, if anything (up events and unknown events yield nothing).</summary>
    public static (List<ChildSaChange> Children, List<IkeSaChange> Ikes) MapEvent(ViciPacket packet, DateTimeOffset at)
    {
        var children = new List<ChildSaChange>();
        var ikes = new List<IkeSaChange>();
        var message = packet.Message ?? new ViciSection();
        switch (packet.Name)
        {
            case ChildRekey:
                foreach (var (connection, ike) in message.Sections)
                {
                    foreach (var (key, pair) in ike.Section("child-sas")?.Sections ?? [])
                    {
                        var old = pair.Section("old") ?? throw new ViciProtocolException($"{ChildRekey} event for '{key}' without an 'old' section");
                        var replacement = pair.Section("new");
                        children.Add(new ChildSaChange(at, connection, SaChangeKind.Rekeyed, MapChildSa(key, old), replacement is null ? null : MapChildSa(key, replacement)));
                    }
                }

                break;
            case ChildUpDown when message.Value("up") != "yes":
                foreach (var (connection, ike) in message.Sections)
                {
                    foreach (var (key, child) in ike.Section("child-sas")?.Sections ?? [])
                    {
                        children.Add(new ChildSaChange(at, connection, SaChangeKind.Deleted, MapChildSa(key, child), null));
                    }
                }

                break;
            case IkeRekey:
                foreach (var (connection, pair) in message.Sections)
                {
                    var old = pair.Section("old") ?? throw new ViciProtocolException($"{IkeRekey} event for '{connection}' without an 'old' section");
                    var replacement = pair.Section("new");
                    ikes.Add(new IkeSaChange(at, connection, SaChangeKind.Rekeyed, MapIkeSa(connection, old), replacement is null ? null : MapIkeSa(connection, replacement)));
                }

                break;
            case IkeUpDown when message.Value("up") != "yes":
                foreach (var (connection, ike) in message.Sections)
                {
                    ikes.Add(new IkeSaChange(at, connection, SaChangeKind.Deleted, MapIkeSa(connection, ike), null));
                }

                break;
        }

        return (children, ikes);
    }

    public static IkeSa MapIkeSa(string connection, ViciSection ike)
    {
        var what = new Subject("IKE SA", connection);
        var childSas = ike.Section("child-sas") is { } section ? section.SectionSpan : default;
        var children = new ChildSa[childSas.Length];
        for (var i = 0; i < children.Length; i++)
        {
            children[i] = MapChildSa(childSas[i].Name, childSas[i].Section);
        }

        var state = ike.Shared("state") ?? "UNKNOWN";
        return new IkeSa(
            connection,
            // Unique ids start again from 1 when charon restarts, SPIs are new random numbers: together they never repeat.
            Key(ike, "initiator-spi", "responder-spi", what),
            IkeState(state),
            state,
            ike.Address("local-host"),
            ike.Address("remote-host"),
            Seconds(ike, "established", what),
            Seconds(ike, "rekey-time", what),
            Seconds(ike, "reauth-time", what),
            children)
        {
            DhGroup = ike.Shared("dh-group"),
        };
    }

    /// <summary>One CHILD SA section; <c>key</c> is the section name, used when there is no <c>name</c> key.</summary>
    public static ChildSa MapChildSa(string key, ViciSection child)
    {
        var name = child.Shared("name") ?? key;
        var what = new Subject("CHILD SA", name);
        var state = child.Shared("state") ?? "UNKNOWN";
        return new ChildSa(
            name,
            Key(child, "spi-in", "spi-out", what),
            ChildState(state),
            state,
            child.List("local-ts"),
            child.List("remote-ts"),
            new SaCounters(Counter(child, "bytes-in", what), Counter(child, "bytes-out", what), Counter(child, "packets-in", what), Counter(child, "packets-out", what)))
        {
            LastInAgo = Seconds(child, "use-in", what),
            LastOutAgo = Seconds(child, "use-out", what),
            InstalledAgo = Seconds(child, "install-time", what),
            RekeyIn = Seconds(child, "rekey-time", what),
            LifeIn = Seconds(child, "life-time", what),
            DhGroup = child.Shared("dh-group"),
        };
    }

    /// <summary>charon's <c>ike_sa_state_t</c> names (PASSIVE is an HA standby copy, not usable here).</summary>
    public static IkeSaState IkeState(string state) => state switch
    {
        "CREATED" or "CONNECTING" => IkeSaState.Connecting,
        "ESTABLISHED" => IkeSaState.Established,
        "REKEYING" => IkeSaState.Rekeying,
        "REKEYED" => IkeSaState.Rekeyed,
        "DELETING" or "DESTROYING" => IkeSaState.Deleting,
        _ => IkeSaState.Unknown,
    };

    /// <summary>charon's <c>child_sa_state_t</c> names.</summary>
    public static ChildSaState ChildState(string state) => state switch
    {
        "CREATED" or "ROUTED" or "INSTALLING" or "UPDATING" or "RETRYING" => ChildSaState.Installing,
        "INSTALLED" => ChildSaState.Installed,
        "REKEYING" => ChildSaState.Rekeying,
        "REKEYED" => ChildSaState.Rekeyed,
        "DELETING" or "DELETED" or "DESTROYING" or "FAILED" => ChildSaState.Deleted,
        _ => ChildSaState.Unknown,
    };

    /// <summary>The SA's key: <c>uniqueid/spi/spi</c>, built from the bytes without a string per part.</summary>
    private static string Key(ViciSection sa, string spi1, string spi2, Subject what)
    {
        if (!sa.TryGetUtf8("uniqueid", out var id))
        {
            throw new ViciProtocolException($"{what} has no uniqueid");
        }

        sa.TryGetUtf8(spi1, out var first);
        sa.TryGetUtf8(spi2, out var second);
        var length = id.Length + first.Length + second.Length + 2;
        if (length > 256)
        {
            return $"{sa.Value("uniqueid")}/{sa.Value(spi1)}/{sa.Value(spi2)}";
        }

        Span<byte> key = stackalloc byte[length];
        id.CopyTo(key);
        key[id.Length] = (byte)'/';
        first.CopyTo(key[(id.Length + 1)..]);
        key[id.Length + 1 + first.Length] = (byte)'/';
        second.CopyTo(key[(id.Length + first.Length + 2)..]);
        return sa.Pooled(key);
    }

    private static ulong Counter(ViciSection section, string key, Subject what)
    {
        if (!section.TryGetUtf8(key, out var text))
        {
            return 0;
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ViciProtocolException($"{what}: {key} is not a counter: '{Encoding.UTF8.GetString(text)}'");
    }

    private static TimeSpan? Seconds(ViciSection section, string key, Subject what)
    {
        if (!section.TryGetUtf8(key, out var text))
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            return SaValueGuard.Seconds(seconds);
        }

        // A number with more digits than a long holds is out of range, not malformed: the guard drops it on this SA.
        var negative = text.Length > 0 && text[0] == (byte)'-';
        var digits = negative ? text[1..] : text;
        return digits.Length > 0 && !digits.ContainsAnyExceptInRange((byte)'0', (byte)'9')
            ? (negative ? TimeSpan.MinValue : TimeSpan.MaxValue)
            : throw new ViciProtocolException($"{what}: {key} is not a number of seconds: '{Encoding.UTF8.GetString(text)}'");
    }

    private static TimeSpan? Interval(ViciSection section, string key, Subject what) =>
        Seconds(section, key, what) is { } interval && interval > TimeSpan.Zero ? interval : null;

    /// <summary>What a protocol error is about; made into text only when there is an error.</summary>
    private readonly record struct Subject(string Kind, string Name)
    {
        public override string ToString() => $"{Kind} '{Name}'";
    }
}
