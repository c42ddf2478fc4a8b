//! Your account's logins, in every mode: changing the password ends every
//! other login, a user lists their logins and ends one, and a token login
//! left unrefreshed past the idle limit ends.
