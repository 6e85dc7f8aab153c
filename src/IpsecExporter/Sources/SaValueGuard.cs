using System.Globalization;

namespace IpsecExporter.Sources;

/// <summary>
/// Keeps one implausible value from failing a whole model: before a snapshot reaches the tracker, every SA time a
/// source reported outside what a gateway can hold (a negative age, anything beyond <see cref="MaxPlausible"/>) is
/// treated as unknown on that SA only, and the rest of the SA and the snapshot are used as they are. One guard per
/// running source remembers which values are out of range, so an SA that keeps reporting one is logged once per
/// episode, not on every collection.
/// </summary>
public sealed class SaValueGuard
{
    /// <summary>Longer than any SA, uptime or rekey interval can be; a time beyond it is a broken value.</summary>
    public static readonly TimeSpan MaxPlausible = TimeSpan.FromDays(20 * 366);

    private HashSet<string> _active = new(StringComparer.Ordinal);

    /// <summary>
    /// A number of seconds a source reported, saturated at the ends of <see cref="TimeSpan"/> instead of throwing, so
    /// an absurd value reaches <see cref="Sanitize"/> and is rejected on its SA alone.
    /// </summary>
    public static TimeSpan Seconds(double seconds) =>
        seconds >= TimeSpan.MaxValue.TotalSeconds ? TimeSpan.MaxValue
        : seconds <= TimeSpan.MinValue.TotalSeconds ? TimeSpan.MinValue
        : TimeSpan.FromSeconds(seconds);

    /// <summary>
    /// The snapshot with out-of-range times set to null; <paramref name="onNewFinding"/> hears each value that was
    /// not already out of range at the previous call.
    /// </summary>
    public SaSnapshot Sanitize(SaSnapshot snapshot, Action<string> onNewFinding)
    {
        // Keyed by SA and field, not by value: a broken value that changes on every poll is still one episode.
        var findings = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = snapshot with
        {
            IkeSas = Map(snapshot.IkeSas, ike => Ike(ike, findings)),
            ChildSaChanges = Map(snapshot.ChildSaChanges, change => change with
            {
                Old = Child(change.Old, findings),
                Replacement = change.Replacement is null ? null : Child(change.Replacement, findings),
            }),
            IkeSaChanges = Map(snapshot.IkeSaChanges, change => change with
            {
                Old = Ike(change.Old, findings),
                Replacement = change.Replacement is null ? null : Ike(change.Replacement, findings),
            }),
        };
        foreach (var (id, message) in findings)
        {
            if (!_active.Contains(id))
            {
                onNewFinding(message);
            }
        }

        _active = [.. findings.Keys];
        return findings.Count == 0 ? snapshot : result;
    }

    private static IReadOnlyList<T> Map<T>(IReadOnlyList<T> items, Func<T, T> map) where T : class
    {
        List<T>? changed = null;
        for (var i = 0; i < items.Count; i++)
        {
            var mapped = map(items[i]);
            if (!ReferenceEquals(mapped, items[i]) && changed is null)
            {
                changed = [.. items.Take(i)];
            }

            changed?.Add(mapped);
        }

        return changed ?? items;
    }

    private static IkeSa Ike(IkeSa ike, Dictionary<string, string> findings)
    {
        var what = new Sa("IKE", ike.Connection, ike.Key);
        var established = Age(ike.EstablishedAgo, what, "established", findings);
        var rekeyIn = Remaining(ike.RekeyIn, what, "rekey in", findings);
        var reauthIn = Remaining(ike.ReauthIn, what, "reauth in", findings);
        var children = Map(ike.ChildSas, child => Child(child, findings));
        return established == ike.EstablishedAgo && rekeyIn == ike.RekeyIn && reauthIn == ike.ReauthIn && ReferenceEquals(children, ike.ChildSas)
            ? ike
            : ike with { EstablishedAgo = established, RekeyIn = rekeyIn, ReauthIn = reauthIn, ChildSas = children };
    }

    private static ChildSa Child(ChildSa child, Dictionary<string, string> findings)
    {
        var what = new Sa("CHILD", child.Name, child.Key);
        var lastIn = Age(child.LastInAgo, what, "last received", findings);
        var lastOut = Age(child.LastOutAgo, what, "last sent", findings);
        var installed = Age(child.InstalledAgo, what, "installed", findings);
        var rekeyIn = Remaining(child.RekeyIn, what, "rekey in", findings);
        var lifeIn = Remaining(child.LifeIn, what, "life in", findings);
        return lastIn == child.LastInAgo && lastOut == child.LastOutAgo && installed == child.InstalledAgo && rekeyIn == child.RekeyIn && lifeIn == child.LifeIn
            ? child
            : child with { LastInAgo = lastIn, LastOutAgo = lastOut, InstalledAgo = installed, RekeyIn = rekeyIn, LifeIn = lifeIn };
    }

    /// <summary>How long ago something happened: never negative (that would be the future).</summary>
    private static TimeSpan? Age(TimeSpan? value, Sa what, string field, Dictionary<string, string> findings) =>
        value is { } age && (age < TimeSpan.Zero || age > MaxPlausible) ? Reject(age, what, field, findings) : value;

    /// <summary>How long until something happens: may be slightly overdue, so only the magnitude is bounded.</summary>
    private static TimeSpan? Remaining(TimeSpan? value, Sa what, string field, Dictionary<string, string> findings) =>
        value is { } remaining && (remaining > MaxPlausible || remaining < -MaxPlausible) ? Reject(remaining, what, field, findings) : value;

    private static TimeSpan? Reject(TimeSpan value, Sa sa, string field, Dictionary<string, string> findings)
    {
        var what = $"{sa.Kind} SA '{sa.Name}' ({sa.Key})";
        var seconds = value == TimeSpan.MaxValue || value == TimeSpan.MinValue
            ? "beyond the range of a time"
            : value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
        findings[$"{what}/{field}"] = $"{what}: {field} of {seconds} is out of range; treated as unknown";
        return null;
    }

    /// <summary>Which SA a value belongs to; put into words only when a value is rejected (this runs for every SA).</summary>
    private readonly record struct Sa(string Kind, string Name, string Key);
}
