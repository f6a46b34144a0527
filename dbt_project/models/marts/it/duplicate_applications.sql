-- Overlapping applications: pairs in the same category whose seats are held by the same people.
-- Moving the overlapping users onto one of the two saves at least the cheaper seat for each.
with holders as (
    select distinct
        application_id,
        employee_id
    from {{ ref('int_saas__seats_held') }}
),

users as (
    select
        application_id,
        count(*) as users
    from holders
    group by 1
),

applications as (
    select
        applications.application_id,
        applications.application_name,
        applications.category,
        users.users,
        avg(subscriptions.price_per_seat_month) as price_per_seat_month
    from {{ ref('stg_saas__applications') }} as applications
    inner join users on applications.application_id = users.application_id
    left join {{ ref('stg_saas__subscriptions') }} as subscriptions
        on applications.application_id = subscriptions.application_id
    group by 1, 2, 3, 4
),

shared_users as (
    select
        holders_a.application_id as application_id_a,
        holders_b.application_id as application_id_b,
        count(*) as users
    from holders as holders_a
    inner join holders as holders_b
        on holders_a.employee_id = holders_b.employee_id
            and holders_a.application_id < holders_b.application_id
    group by 1, 2
)

select
    {{ dbt.concat(["shared_users.application_id_a", "'|'", "shared_users.application_id_b"]) }} as pair_key,
    shared_users.application_id_a,
    app_a.application_name as application_name_a,
    shared_users.application_id_b,
    app_b.application_name as application_name_b,
    app_a.category,
    app_a.users::integer as users_a,
    app_b.users::integer as users_b,
    shared_users.users::integer as overlapping_users,
    round(shared_users.users::numeric / least(app_a.users, app_b.users), 3) as overlap_share,
    round(shared_users.users * least(app_a.price_per_seat_month, app_b.price_per_seat_month), 2)
        as potential_monthly_saving
from shared_users
inner join applications as app_a on shared_users.application_id_a = app_a.application_id
inner join applications as app_b on shared_users.application_id_b = app_b.application_id
where app_a.category = app_b.category
