//! Who may do what in a group: the permission table, as one pure function.
//!
//! | action                                   | OWNER | ADMIN          | MEMBER |
//! |------------------------------------------|-------|----------------|--------|
//! | send (group open to all)                 | yes   | yes            | yes    |
//! | send (group set to admins only)          | yes   | yes            | no     |
//! | change info (title, description, avatar) | yes   | yes            | no     |
//! | change settings (admins-only sending)    | yes   | yes            | no     |
//! | add members                              | yes   | yes            | no     |
//! | remove a member                          | yes   | yes            | no     |
//! | remove an admin                          | yes   | no             | no     |
//! | promote to admin, demote to member       | yes   | no             | no     |
//! | hand over ownership                      | yes   | no             | no     |
//! | delete anyone's message for everyone     | yes   | yes            | no     |
//! | pin, unpin (group open to all)           | yes   | yes            | yes    |
//! | pin, unpin (group set to admins only)    | yes   | yes            | no     |
//! | leave                                    | yes   | yes            | yes    |
//!
//! Everyone may delete their own messages for everyone within
//! `chat.delete_window_secs` of sending, and edit them within
//! `chat.edit_window_secs`; nobody edits another's message.
//!
//! Nobody removes the owner or changes the owner's role (the owner hands ownership
//! over, or leaves: then the longest-standing admin, else member, becomes owner).

use async_graphql::Enum;
use sea_orm::{DeriveActiveEnum, EnumIter};

/// A member's role in a conversation (direct conversations have only members).
// Stored as `member`, `admin` or `owner`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[graphql(name = "MemberRole")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    #[sea_orm(string_value = "member")]
    Member,
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "owner")]
    Owner,
}

/// What a member may try to do in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a message; `admins_only` is the group's setting.
    Send {
        admins_only: bool,
    },
    ChangeInfo,
    ChangeSettings,
    AddMembers,
    /// Remove a member who has `target` role.
    Remove {
        target: Role,
    },
    /// Make a member an admin, or an admin a member.
    ChangeRole,
    HandOverOwnership,
    /// Delete another member's message for everyone, at any time.
    DeleteForEveryone,
    /// Pin or unpin a message; `admins_only` is the group's sending setting.
    Pin {
        admins_only: bool,
    },
    Leave,
}

/// Whether a member with `role` may do `action`.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        Leave => true,
        Send { admins_only } | Pin { admins_only } => !admins_only || role >= Role::Admin,
        ChangeInfo | ChangeSettings | AddMembers | DeleteForEveryone => role >= Role::Admin,
        Remove { target } => target != Role::Owner && role > target,
        ChangeRole | HandOverOwnership => role == Role::Owner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_table_holds_for_every_role_and_action() {
        use Action::*;
        use Role::*;
        // (action, owner, admin, member)
        let table = [
            (Send { admins_only: false }, true, true, true),
            (Send { admins_only: true }, true, true, false),
            (ChangeInfo, true, true, false),
            (ChangeSettings, true, true, false),
            (AddMembers, true, true, false),
            (Remove { target: Member }, true, true, false),
            (Remove { target: Admin }, true, false, false),
            (Remove { target: Owner }, false, false, false),
            (ChangeRole, true, false, false),
            (HandOverOwnership, true, false, false),
            (DeleteForEveryone, true, true, false),
            (Pin { admins_only: false }, true, true, true),
            (Pin { admins_only: true }, true, true, false),
            (Leave, true, true, true),
        ];
        for (action, owner, admin, member) in table {
            assert_eq!(allows(Owner, action), owner, "owner: {action:?}");
            assert_eq!(allows(Admin, action), admin, "admin: {action:?}");
            assert_eq!(allows(Member, action), member, "member: {action:?}");
        }
    }

    #[test]
    fn roles_keep_their_stored_spelling() {
        use sea_orm::ActiveEnum;
        for (role, stored) in [
            (Role::Owner, "owner"),
            (Role::Admin, "admin"),
            (Role::Member, "member"),
        ] {
            assert_eq!(role.to_value(), stored);
            assert_eq!(Role::try_from_value(&stored.to_owned()).unwrap(), role);
        }
        assert!(Role::try_from_value(&"nonsense".to_owned()).is_err());
    }
}
