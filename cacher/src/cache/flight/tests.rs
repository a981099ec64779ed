use super::*;

fn leader(role: Role<'_>) -> Leader<'_> {
    match role {
        Role::Leader(leader) => leader,
        Role::Waiter(_) => panic!("expected to lead"),
    }
}

fn waiter(role: Role<'_>) -> Arc<Flight> {
    match role {
        Role::Waiter(flight) => flight,
        Role::Leader(_) => panic!("expected to wait"),
    }
}

fn value(flight: &Flight) -> Option<u64> {
    flight.value::<u64>()
}

#[test]
fn a_flight_replaced_after_an_invalidation_still_serves_its_own_waiters() {
    let flights = Flights::new();
    let (hash, key) = (7, 7u64);
    let first = leader(flights.join::<u64, _>(hash, &key));
    let first_waiter = waiter(flights.join::<u64, _>(hash, &key));
    flights.invalidate(hash, Duration::ZERO);
    // The first flight predates the invalidation: a later caller leads a new one.
    let second = leader(flights.join::<u64, _>(hash, &key));
    let second_waiter = waiter(flights.join::<u64, _>(hash, &key));
    assert!(!Arc::ptr_eq(&first_waiter, &second_waiter));
    first.complete(&1u64);
    assert_eq!(value(&first_waiter), Some(1));
    assert_eq!(
        value(&second_waiter),
        None,
        "the newer flight is still running"
    );
    second.complete(&2u64);
    assert_eq!(value(&second_waiter), Some(2));
    // Both left: the next caller leads.
    drop(leader(flights.join::<u64, _>(hash, &key)));
}

#[test]
fn a_leader_without_waiters_leaves_no_flight_and_one_dropped_fails_its_waiters() {
    let flights = Flights::new();
    leader(flights.join::<u64, _>(1, &1u64)).complete(&10u64);
    let dropped = leader(flights.join::<u64, _>(1, &1u64));
    let waiting = waiter(flights.join::<u64, _>(1, &1u64));
    drop(dropped);
    assert!(matches!(
        Flight::outcome(&waiting.lock()),
        Some(Outcome::Failed)
    ));
    drop(leader(flights.join::<u64, _>(1, &1u64)));
}

#[test]
fn a_key_whose_hash_collides_with_a_flights_leads_its_own() {
    let flights = Flights::new();
    let seven = leader(flights.join::<u64, _>(3, &7u64));
    let eight = leader(flights.join::<u64, _>(3, &8u64));
    let waiting = waiter(flights.join::<u64, _>(3, &7u64));
    eight.complete(&80u64);
    assert_eq!(waiting.value::<u64>(), None, "not key 8's value");
    seven.complete(&70u64);
    assert_eq!(waiting.value::<u64>(), Some(70));
}

#[test]
fn a_flight_in_a_reused_key_box_is_joined_by_its_own_key_only() {
    let flights = Flights::new();
    // Key 7's box is kept for the stripe's next flight, which is key 8's.
    leader(flights.join::<u64, _>(3, &7u64)).complete(&70u64);
    let eight = leader(flights.join::<u64, _>(3, &8u64));
    let seven = leader(flights.join::<u64, _>(3, &7u64));
    let waiting = waiter(flights.join::<u64, _>(3, &8u64));
    seven.complete(&70u64);
    eight.complete(&80u64);
    assert_eq!(waiting.value::<u64>(), Some(80));
    // A key with drop glue is boxed anew each time, and joined the same way.
    leader(flights.join::<String, _>(5, "a")).complete(&1u64);
    let b = leader(flights.join::<String, _>(5, "b"));
    let waiting = waiter(flights.join::<String, _>(5, "b"));
    drop(leader(flights.join::<String, _>(5, "a")));
    b.complete(&2u64);
    assert_eq!(waiting.value::<u64>(), Some(2));
}
